"""The chapters in a real JupyterLab: the book copy with jupyterlab-myst, the student copy without any extension.

Both run a headless JupyterLab on 127.0.0.1 (tools/jupyterlab_check.py) and read what Chromium shows. Screenshots
are written to screenshots/jupyterlab/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import sys

import nbformat
import pytest

from tests.book_inventory import BOOK, ROOT

sys.path.insert(0, str(ROOT / "tools"))
from jupyterlab_check import check_notebooks
from make_student_copies import book_index, install_cell_source, student_copy

pytestmark = pytest.mark.browser
# The chapter with every kind of MyST markup: admonition, exercises, solutions, theorem boxes, citations, cross-refs.
CHAPTER = BOOK / "part1" / "deep_alignment.ipynb"
SHOTS = ROOT / "screenshots" / "jupyterlab"


def test_book_chapter_renders_in_jupyterlab_with_myst():
    report = check_notebooks([CHAPTER], plain=False, screenshots=SHOTS)
    assert report == {str(CHAPTER): []}, report
    for what in ("top", "exercise", "theorem", "citation"):
        assert (SHOTS / f"myst__part1__deep_alignment__{what}.png").stat().st_size > 10_000


def test_student_copy_renders_in_jupyterlab_without_extensions(tmp_path):
    """The student copy passes in a JupyterLab without jupyterlab-myst, where the book copy fails the same check."""
    nb = nbformat.read(CHAPTER, as_version=4)
    index = book_index(site_url="https://example.org/book/")
    student = tmp_path / "student" / CHAPTER.name  # screenshots: plain__student__deep_alignment__*.png
    student.parent.mkdir()
    nbformat.write(student_copy(nb, index, "book/part1/deep_alignment", install_cell_source(None, None)), student)
    report = check_notebooks([student, CHAPTER], plain=True, screenshots=SHOTS, edition="plain")
    assert report[str(student)] == [], report[str(student)]
    for what in ("top", "exercise", "theorem", "citation"):
        assert (SHOTS / f"plain__student__deep_alignment__{what}.png").stat().st_size > 10_000
    book_problems = "\n".join(report[str(CHAPTER)])
    for raw in (":label:", "{prf:", ":::{", "{cite}"):
        assert raw in book_problems, f"the check did not see {raw!r} in the book copy without jupyterlab-myst"
