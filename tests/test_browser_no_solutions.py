"""The website without solutions (``bash tasks.sh build --no-solutions``) in a real browser.

A file of its own so that pytest-xdist runs it beside the full-site browser test (each file goes to one worker).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from browser_check import check_site
from no_solutions import write_no_solutions_config

from tests.book_inventory import ROOT
from tests.site_build import build_site, page_texts, solution_fragments

pytestmark = pytest.mark.browser


def test_site_without_solutions_shows_none(tmp_path):
    """``bash tasks.sh build --no-solutions``: no solution on any page, no instructor-only page, pages still fine."""
    config, toc = write_no_solutions_config(tmp_path / "config")
    site = build_site(tmp_path / "site", "--config", str(config), "--toc", str(toc))
    pages = page_texts(site)
    assert not [p for p in pages if p.startswith("book/instructor/")], "an instructor-only page was built"
    assert not [p for p, html in pages.items() if 'class="solution' in html], "solution markup left on a page"
    text = " ".join(" ".join(BeautifulSoup(html, "html.parser").get_text(" ").split()) for html in pages.values())
    shown = [f for f in solution_fragments() if f in text]
    assert not shown, f"solution text on the site without solutions: {shown[:3]}"
    sample = ["index.html", "book/instructor.html", "book/part1/modified_loss.html", "book/part3/random_geometry.html"]
    report = check_site(site, ROOT / "screenshots" / "no-solutions", pages=sample, solutions_allowed=False)
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "pages with problems:\n" + "\n".join(f"{p}: {v}" for p, v in bad.items())
