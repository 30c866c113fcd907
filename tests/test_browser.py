"""The website in a real browser: build the book, load every page in headless Chromium with the network blocked.

With ``BOOK_SCREENSHOTS=1`` in the environment a full-page screenshot of every page is written to screenshots/ at the
repository root (git-ignored) for a person to look at; they are off by default because they cost about half a minute
of the test command (e.g. ``BOOK_SCREENSHOTS=1 bash tasks.sh test tests/test_browser.py``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from browser_check import check_site
from make_student_copies import NUMBERED, book_index

from tests.book_inventory import ROOT
from tests.site_build import build_site, page_texts, solution_fragments

pytestmark = pytest.mark.browser


def test_every_page_renders_offline_without_errors(tmp_path):
    site = build_site(tmp_path / "site")
    report = check_site(site, screenshots=ROOT / "screenshots" if os.environ.get("BOOK_SCREENSHOTS") else None)
    assert len(report) >= 4
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "pages with problems:\n" + "\n".join(f"{p}: {v}" for p, v in bad.items())
    # The full site shows every solution (the control for the site without solutions) ...
    text = " ".join(BeautifulSoup(html, "html.parser").get_text(" ") for html in page_texts(site).values())
    text = " ".join(text.split())
    missing = [f for f in solution_fragments() if f not in text]
    assert not missing, f"solutions not found on the full site: {missing[:3]}"
    # ... and numbers exercises and theorem boxes as the student edition does.
    numbers = {}
    for html in page_texts(site).values():
        for box in BeautifulSoup(html, "html.parser").select("div.exercise[id], div.proof[id]"):
            m = re.match(r"(\w+) (\d+)", box.find(class_="admonition-title").get_text(" ", strip=True))
            numbers[box["id"]] = (m.group(1), int(m.group(2)))
    student = {label: (NUMBERED[kind], n) for label, (_, kind, n) in book_index(None).labels.items()}
    assert numbers == student


PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
LONG = "x = 1  # " + "a long line " * 20


def test_checker_reports_each_kind_of_problem(tmp_path):
    """The checker must fail on a broken image, link, anchor, external request, JS error, a forbidden solution, a
    shrunken image, code or output that scrolls at 1280 px, a page wider than a phone, display math or a table that
    is clipped, widens the page or scrolls in a box wider than the phone, and an API page without its table or TOC."""
    (tmp_path / "ok.html").write_text(
        '<html><body><article><p id="here">fine</p>'
        f'<img src="{PIXEL}" width="40" style="width: 40px">'
        f'<div class="cell"><div class="cell_input"><pre style="overflow: auto">{LONG[:40]}</pre></div></div>'
        '<div style="overflow-x: auto; max-width: 100%"><table><tr><td style="min-width: 900px">wide</td></tr></table>'
        "</div></article></body></html>"
    )
    (tmp_path / "bad.html").write_text(
        "<html><body><article>"
        '<img src="missing.png">'
        '<script src="https://cdn.example.org/lib.js"></script>'
        '<a href="nope.html">x</a><a href="ok.html#there">y</a><a href="ok.html#here">z</a>'
        '<script>console.error("boom")</script>'
        '<div class="solution admonition">shown</div>'
        f'<img src="{PIXEL}" width="400" style="max-width: 100px">'
        f'<div class="cell"><div class="cell_input"><pre style="overflow: auto; width: 300px">{LONG}</pre></div>'
        f'<div class="cell_output"><div class="output"><pre style="overflow: auto; width: 300px">{LONG}</pre>'
        "</div></div></div>"
        '<mjx-container display="true" style="display: block; overflow: hidden; width: 200px">'
        '<span style="display: inline-block; width: 600px">clipped formula</span></mjx-container>'
        '<table><tr><td style="min-width: 700px">page-widening table</td></tr></table>'
        '<div style="overflow-x: auto; width: 500px"><table><tr><td style="min-width: 800px">in a wide box</td></tr>'
        "</table></div>"
        "</article></body></html>"
    )
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "page.html").write_text("<html><body><article><p>no table</p></article></body></html>")
    strict = check_site(tmp_path, solutions_allowed=False, api_dir="reference/")
    assert "1 solution(s) shown on a site without solutions" in strict["bad.html"]
    assert strict["reference/"] == ["no API reference pages under reference/"]  # a site without its API pages
    report = check_site(tmp_path, api_dir="api/")
    assert report["ok.html"] == []
    assert report["api/page.html"] == [
        "API page shows 0 entries in its right-hand table of contents (at least 5 expected)",
        "API page without its summary table",
    ]
    text = "\n".join(report["bad.html"])
    for expected in (
        "broken image",
        "external host blocked: https://cdn.example.org/lib.js",
        "broken link: /nope.html",
        "broken anchor: /ok.html#there",
        "console error: boom",
        "image shown at 25 % of its intended width (100 of 400 px, natural 1 px) in text",
        "code cell scrolls horizontally in cell 1 (pre: content",
        "output scrolls horizontally in cell 1 (pre: content",
        "at 390 px: page",
        "at 390 px: display math clipped by mjx-container (600 px in 200 px, no scroll bar): clipped formula",
        "at 390 px: table widens the page (7",
        "at 390 px: table scrolls in a box wider than the screen (div to ",
    ):
        assert expected in text, f"checker missed {expected!r}; it reported:\n{text}"
    assert "ok.html#here" not in text
    assert "solution" not in text
    assert "in a wide box" in text
