"""The website in a real browser: build the book, load every page in headless Chromium with the network blocked.

Screenshots of every page are written to screenshots/ at the repository root (git-ignored) for a person to look at.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from browser_check import check_site

from tests.book_inventory import ROOT

pytestmark = pytest.mark.browser
JUPYTER_BOOK = str(Path(sys.executable).parent / "jupyter-book")


def test_every_page_renders_offline_without_errors(tmp_path):
    out = tmp_path / "site"
    build = subprocess.run(
        [JUPYTER_BOOK, "build", str(ROOT), "--all", "-W", "--keep-going", "--path-output", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert build.returncode == 0, f"book build failed or warned:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    report = check_site(out / "_build" / "html", screenshots=ROOT / "screenshots")
    assert len(report) >= 4
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "pages with problems:\n" + "\n".join(f"{p}: {v}" for p, v in bad.items())


def test_checker_reports_each_kind_of_problem(tmp_path):
    """The checker itself must fail on a page with a broken image, link, anchor, external request and JS error."""
    (tmp_path / "ok.html").write_text('<html><body><p id="here">fine</p></body></html>')
    (tmp_path / "bad.html").write_text(
        "<html><body><article>"
        '<img src="missing.png">'
        '<script src="https://cdn.example.org/lib.js"></script>'
        '<a href="nope.html">x</a><a href="ok.html#there">y</a><a href="ok.html#here">z</a>'
        '<script>console.error("boom")</script>'
        "</article></body></html>"
    )
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
