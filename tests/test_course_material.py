"""Course material: each chapter has objectives and >= 3 exercises with solutions; student copies drop solutions."""

from __future__ import annotations

import re
import sys

import nbformat
import pytest

from tests.book_inventory import ROOT, toc_notebooks

sys.path.insert(0, str(ROOT / "tools"))
from make_student_copies import main as make_student_copies
from make_student_copies import student_copy

CHAPTERS = toc_notebooks()
EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n:label:\s*(\S+)")
SOLUTION = re.compile(r"```\{solution\}\s*(\S+)")
BOOK_MACROS = re.compile(r"\\(E|Var|Cov|Tr|R|diag)(?![A-Za-z])")


def _markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_objectives_and_three_solved_exercises(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(_markdown(nb))
    assert "Learning objectives" in text, f"{path.name}: no learning-objectives admonition"
    exercises = EXERCISE.findall(text)
    solutions = SOLUTION.findall(text)
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, need >= 3"
    assert sorted(exercises) == sorted(solutions), f"{path.name}: exercises {exercises} vs solutions {solutions}"
    for cell in nb.cells:
        if "{solution}" in cell.source:
            assert "solution" in cell.metadata.get("tags", []), f"{path.name}: solution cell not tagged `solution`"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_math_uses_no_website_only_macros(path):
    """Jupyter does not know the website's MathJax macros, so notebooks spell them out (\\mathbb{E}, ...)."""
    nb = nbformat.read(path, as_version=4)
    for i, src in enumerate(_markdown(nb)):
        m = BOOK_MACROS.search(src)
        assert m is None, f"{path.name}: markdown cell {i + 1} uses the macro {m.group(0)!r}; write it out"


def test_student_copies_remove_solutions_only(tmp_path):
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        copy = student_copy(nb)
        text = "\n".join(_markdown(copy))
        assert "{solution}" not in text
        assert len(EXERCISE.findall(text)) == len(EXERCISE.findall("\n".join(_markdown(nb))))
        assert all(c.outputs == [] for c in copy.cells if c.cell_type == "code")
    assert make_student_copies(["--out", str(tmp_path)]) == 0
    written = sorted(tmp_path.rglob("*.ipynb"))
    assert len(written) == len(CHAPTERS)
