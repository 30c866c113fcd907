"""Building the website for the browser tests (shared by the full-site and the no-solutions tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.book_inventory import ROOT, toc_notebooks

JUPYTER_BOOK = str(Path(sys.executable).parent / "jupyter-book")


def build_site(out: Path, *extra: str) -> Path:
    build = subprocess.run(
        [JUPYTER_BOOK, "build", str(ROOT), "--all", "-W", "--keep-going", "--path-output", str(out), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert build.returncode == 0, f"book build failed or warned:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return out / "_build" / "html"


def page_texts(site: Path) -> dict[str, str]:
    pages = (p for p in site.rglob("*.html") if not {"_static", "_sources", "_images"} & set(p.parts))
    return {p.relative_to(site).as_posix(): p.read_text() for p in pages}


def solution_fragments() -> list[str]:
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
