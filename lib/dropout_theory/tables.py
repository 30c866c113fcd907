"""Aligned tables for result objects: ``print(result)`` gives plain text; ``display(result.table())`` shows an
HTML table (Jupyter and the website render it; its plain-text form is the aligned text).

A result class derives from :class:`TabularResult` and implements :meth:`TabularResult.table`; chapters then print
the object instead of formatting columns by hand. :func:`cell` formats one value (``None``/NaN as ``-``,
:class:`dropout_theory.stats.Estimate` as ``value ± stderr``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def cell(value: Any, spec: str = ".4g") -> str:
    """One table cell: ``None`` and NaN as ``-``, numbers with the format ``spec``, anything else with ``str``."""
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a format specification string such as '.4g', got {spec!r}")
    try:
        return _cell(value, spec)
    except ValueError as exc:
        raise ValueError(f"spec {spec!r} cannot format {value!r}: {exc}") from None


def _cell(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    if hasattr(value, "format") and hasattr(value, "stderr"):  # an Estimate
        return value.format()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format(value, spec if spec.endswith("d") else "d")
    if isinstance(value, float):
        return "-" if math.isnan(value) else format(value, spec)
    return str(value)


@dataclass(frozen=True)
class Table:
    """Rows of already formatted cells under a header; numbers right-aligned, text left-aligned.

    Attributes:
        headers: column titles.
        rows: one tuple of cell strings per row (same length as ``headers``).
        title: optional line printed above the table.
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"every row needs {len(self.headers)} cells, got {len(row)}: {row!r}")

    @classmethod
    def build(
        cls,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        formats: Sequence[str] | None = None,
        title: str | None = None,
    ) -> Table:
        """A table from raw values, each column formatted by :func:`cell` with its entry of ``formats``."""
        specs = list(formats) if formats is not None else [".4g"] * len(headers)
        if len(specs) != len(headers):
            raise ValueError(f"formats needs one entry per column ({len(headers)}), got {len(specs)}")
        return cls(
            tuple(headers),
            tuple(tuple(cell(v, s) for v, s in zip(row, specs, strict=True)) for row in rows),
            title,
        )

    def _numeric(self, j: int) -> bool:
        def num(s: str) -> bool:
            head = s.split(" ")[0].replace("−", "-").removesuffix("%")
            try:
                float(head)
            except ValueError:
                return s == "-"
            return True

        return all(num(r[j]) for r in self.rows) and bool(self.rows)

    def __str__(self) -> str:
        widths = [max([len(h)] + [len(r[j]) for r in self.rows]) for j, h in enumerate(self.headers)]
        right = [self._numeric(j) for j in range(len(self.headers))]

        def line(cells: Sequence[str]) -> str:
            out = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
            return "  ".join(out).rstrip()

        lines = [] if self.title is None else [self.title]
        lines.append(line(self.headers))
        lines += [line(r) for r in self.rows]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|")

        align = ["---:" if self._numeric(j) else ":---" for j in range(len(self.headers))]
        lines = [] if self.title is None else [f"**{esc(self.title)}**", ""]
        lines.append("| " + " | ".join(esc(h) for h in self.headers) + " |")
        lines.append("|" + "|".join(align) + "|")
        lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """An HTML table (numbers right-aligned, the title as caption, 0.8 of the text's size): fits the website's
        column by wrapping cells at spaces (an estimate ``v ± e`` only after its ±), where the aligned text would
        need a horizontal scroll."""
        align = ["right" if self._numeric(j) else "left" for j in range(len(self.headers))]

        def text(c: str) -> str:  # an estimate wraps after its ±, never before it
            return html.escape(c).replace(" ± ", "&nbsp;± ")

        def row(cells: Sequence[str], tag: str) -> str:
            inner = "".join(
                f'<{tag} style="text-align: {a}">{text(c)}</{tag}>' for c, a in zip(cells, align, strict=True)
            )
            return f"<tr>{inner}</tr>"

        caption = "" if self.title is None else f"<caption>{html.escape(self.title)}</caption>"
        head, body = row(self.headers, "th"), "".join(row(r, "td") for r in self.rows)
        table = f'<table class="result-table">{caption}<thead>{head}</thead><tbody>{body}</tbody></table>'
        # a smaller font than the prose; a table still wider than the column scrolls inside its own box
        return f'<div class="result-table-box" style="overflow-x: auto; font-size: 0.8em">{table}</div>'

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text form: the aligned text (not the dataclass fields)."""
        p.text(str(self))


class TabularResult:
    """Mixin of result objects that print themselves as a :class:`Table`."""

    def table(self) -> Table:
        """The object as a table (implemented by each result class)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return str(self.table())

    def _repr_markdown_(self) -> str:
        return self.table()._repr_markdown_()
