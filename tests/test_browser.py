"""The website in a real browser: build the book, load every page in headless Chromium with the network blocked.

Screenshots of every page are written to screenshots/ at the repository root (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from browser_check import check_site
from make_student_copies import NUMBERED, book_index
from no_solutions import write_no_solutions_config

from tests.book_inventory import ROOT, toc_notebooks

pytestmark = pytest.mark.browser
JUPYTER_BOOK = str(Path(sys.executable).parent / "jupyter-book")


def _build(out: Path, *extra: str) -> Path:
    build = subprocess.run(
        [JUPYTER_BOOK, "build", str(ROOT), "--all", "-W", "--keep-going", "--path-output", str(out), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert build.returncode == 0, f"book build failed or warned:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return out / "_build" / "html"


def _page_texts(site: Path) -> dict[str, str]:
    pages = (p for p in site.rglob("*.html") if not {"_static", "_sources", "_images"} & set(p.parts))
    return {p.relative_to(site).as_posix(): p.read_text() for p in pages}


def _solution_fragments() -> list[str]:
    """From each solution of the chapters, the longest run of plain words (no math, no code) found nowhere else."""
    solutions, elsewhere = [], []
    for path in toc_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            is_solution = "solution" in cell.metadata.get("tags", [])
            (solutions if is_solution else elsewhere).append(cell.source)
    other = " ".join(" ".join(src.split()) for src in elsewhere)
    fragments = []
    for source in solutions:
        lines = [ln for ln in source.splitlines() if not re.match(r"\s{4}|[:`]", ln)]
        prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", "\n", " ".join(lines), flags=re.S)
        runs = [r for r in re.findall(r"[A-Za-z][A-Za-z ,;]{14,}[A-Za-z]", prose) if r not in other]
        if runs:  # a solution that is nearly all formulas may have none
            fragments.append(max(runs, key=len))
    assert len(fragments) >= 0.9 * len(solutions), f"only {len(fragments)} of {len(solutions)} solutions have text"
    return fragments


def test_every_page_renders_offline_without_errors(tmp_path):
    site = _build(tmp_path / "site")
    report = check_site(site, screenshots=ROOT / "screenshots")
    assert len(report) >= 4
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "pages with problems:\n" + "\n".join(f"{p}: {v}" for p, v in bad.items())
    # The full site shows every solution (the control for the site without solutions below) ...
    text = " ".join(BeautifulSoup(html, "html.parser").get_text(" ") for html in _page_texts(site).values())
    text = " ".join(text.split())
    missing = [f for f in _solution_fragments() if f not in text]
    assert not missing, f"solutions not found on the full site: {missing[:3]}"
    # ... and numbers exercises and theorem boxes as the student edition does.
    numbers = {}
    for html in _page_texts(site).values():
        for box in BeautifulSoup(html, "html.parser").select("div.exercise[id], div.proof[id]"):
            m = re.match(r"(\w+) (\d+)", box.find(class_="admonition-title").get_text(" ", strip=True))
            numbers[box["id"]] = (m.group(1), int(m.group(2)))
    student = {label: (NUMBERED[kind], n) for label, (_, kind, n) in book_index(None).labels.items()}
    assert numbers == student


def test_site_without_solutions_shows_none(tmp_path):
    """``bash tasks.sh build --no-solutions``: no solution on any page, no instructor-only page, pages still fine."""
    config, toc = write_no_solutions_config(tmp_path / "config")
    site = _build(tmp_path / "site", "--config", str(config), "--toc", str(toc))
    pages = _page_texts(site)
    assert not [p for p in pages if p.startswith("book/instructor/")], "an instructor-only page was built"
    assert not [p for p, html in pages.items() if 'class="solution' in html], "solution markup left on a page"
    text = " ".join(" ".join(BeautifulSoup(html, "html.parser").get_text(" ").split()) for html in pages.values())
    shown = [f for f in _solution_fragments() if f in text]
    assert not shown, f"solution text on the site without solutions: {shown[:3]}"
    sample = ["index.html", "book/instructor.html", "book/part1/modified_loss.html", "book/part3/random_geometry.html"]
    report = check_site(site, ROOT / "screenshots" / "no-solutions", pages=sample, solutions_allowed=False)
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "pages with problems:\n" + "\n".join(f"{p}: {v}" for p, v in bad.items())


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
