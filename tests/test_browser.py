"""The website in a real browser: build the book, load every page in headless Chromium with the network blocked.

Screenshots of every page are written to screenshots/ at the repository root (git-ignored) for a person to look at.
"""

from __future__ import annotations

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
    report = check_site(site, screenshots=ROOT / "screenshots")
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


def test_checker_reports_each_kind_of_problem(tmp_path):
    """The checker must fail on a broken image, link, anchor, external request, JS error and a forbidden solution."""
    (tmp_path / "ok.html").write_text('<html><body><p id="here">fine</p></body></html>')
    (tmp_path / "bad.html").write_text(
        "<html><body><article>"
        '<img src="missing.png">'
        '<script src="https://cdn.example.org/lib.js"></script>'
        '<a href="nope.html">x</a><a href="ok.html#there">y</a><a href="ok.html#here">z</a>'
        '<script>console.error("boom")</script>'
        '<div class="solution admonition">shown</div>'
        "</article></body></html>"
    )
    strict = check_site(tmp_path, pages=["bad.html"], solutions_allowed=False)["bad.html"]
    assert "1 solution(s) shown on a site without solutions" in strict
    report = check_site(tmp_path)
    assert report["ok.html"] == []
    text = "\n".join(report["bad.html"])
    for expected in (
        "broken image",
        "external host blocked: https://cdn.example.org/lib.js",
        "broken link: /nope.html",
        "broken anchor: /ok.html#there",
        "console error: boom",
    ):
        assert expected in text, f"checker missed {expected!r}; it reported:\n{text}"
    assert "ok.html#here" not in text
    assert "solution" not in text
