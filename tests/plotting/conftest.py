"""Every figure a library plotting function draws fits the website's content column."""

import matplotlib.pyplot as plt
import pytest

from dropout_theory.plotting.style import BOOK_FIGURE_WIDTH


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After each plotting test (before its figures are closed): no open figure is wider than the column."""
    result = yield
    too_wide = {
        n: round(float(plt.figure(n).get_figwidth()), 2)
        for n in plt.get_fignums()
        if plt.figure(n).get_figwidth() > BOOK_FIGURE_WIDTH + 1e-9
    }
    assert not too_wide, f"figures wider than BOOK_FIGURE_WIDTH = {BOOK_FIGURE_WIDTH} in: {too_wide}"
    return result
