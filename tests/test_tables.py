"""Results that print themselves: aligned text and Markdown tables."""

import math

import pytest

from dropout_theory.stats import Estimate
from dropout_theory.tables import Table, TabularResult, cell


def test_cells():
    assert cell(None) == "-" and cell(math.nan) == "-" and cell(3) == "3" and cell(True) == "True"
    assert cell(0.123456) == "0.1235" and cell(0.5, "+.2f") == "+0.50" and cell("x") == "x"
    assert cell(Estimate(1.5, 0.25)) == "1.5 ± 0.25"


def test_table_aligns_numbers_right_and_text_left_and_renders_markdown():
    t = Table.build(("name", "value"), [("a", 1.0), ("long name", 22.5), ("c", None)], title="T")
    lines = str(t).splitlines()
    assert lines[0] == "T"
    assert lines[1] == "name       value"
    assert lines[2] == "a              1"
    assert lines[3] == "long name   22.5"
    assert lines[4] == "c              -"
    md = t._repr_markdown_().splitlines()
    assert md[0] == "**T**" and md[2] == "| name | value |" and md[3] == "|:---|---:|"
    page = t._repr_html_()
    assert page.startswith('<div class="result-table-box" style="overflow-x: auto; font-size: 0.8em">')
    assert '<table class="result-table"><caption>T</caption>' in page and page.endswith("</table></div>")
    assert '<th style="text-align: left">name</th><th style="text-align: right">value</th>' in page
    assert '<td style="text-align: left">long name</td><td style="text-align: right">22.5</td>' in page
    assert Table.build(("a<b",), [("x & y",)])._repr_html_().count("a&lt;b") == 1
    assert ">1.5&nbsp;± 0.25</td>" in Table.build(("v",), [(Estimate(1.5, 0.25),)])._repr_html_()
    with pytest.raises(ValueError, match="one entry per column"):
        Table.build(("a",), [(1,)], formats=(".2f", ".2f"))
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        Table(("a", "b"), (("1",),))


def test_tabular_result_prints_its_table():
    class Result(TabularResult):
        def table(self):
            return Table.build(("x",), [(1,)])

    assert str(Result()) == "x\n1" and Result()._repr_markdown_().startswith("| x |")


def test_table_shows_its_aligned_text_in_ipython():
    from IPython.lib.pretty import pretty

    t = Table.build(("name", "value"), [("a", 1.0)])
    assert pretty(t) == str(t) == "name  value\na         1"
