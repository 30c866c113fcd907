"""A widget callback that reports bad input as one short line in the widget's output area (private)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def short_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with a ``ValueError`` (a setting the library refuses) printed as a one-line message instead of the
    traceback ``ipywidgets.interactive`` would show; the signature (the controls) is kept."""

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            import matplotlib.pyplot as plt

            plt.close("all")  # a half-drawn figure is not shown
            print(f"Cannot compute this setting: {err}")
            return None

    return guarded
