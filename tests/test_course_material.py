"""Course material: objectives, exercises with solutions; the student edition is plain Markdown without solutions."""

from __future__ import annotations

import re
import sys

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tests.book_inventory import ROOT, toc_notebooks

sys.path.insert(0, str(ROOT / "tools"))
from make_student_copies import BookIndex, StudentRewriter, _bibliography, book_index, install_cell_source, student_copy
from make_student_copies import main as make_student_copies

CHAPTERS = toc_notebooks()
EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n:label:\s*(\S+)")
# Every exercise opens with its difficulty and an estimated time (the instructor page explains the scale).
DIFFICULTY = re.compile(r"```\{exercise\}[^\n]*\n:label:\s*\S+\n\n\*\*Difficulty:\*\* (basic|intermediate|advanced) · "
                        r"\*\*Time:\*\* about (\d+) min\n")
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
    rated = DIFFICULTY.findall(text)
    assert len(rated) == len(exercises), f"{path.name}: {len(exercises) - len(rated)} exercises lack difficulty/time"
    assert all(5 <= int(minutes) <= 120 for _, minutes in rated)
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


RAW_MYST = re.compile(r"\{(prf:|exercise|solution|cite|doc|ref|admonition)|^:label:|^:class:|^:::|^```\{", re.M)


@pytest.fixture(scope="module")
def index():
    return book_index(site_url="https://example.org/book/")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_copy_is_plain_markdown_without_solutions(path, index):
    nb = nbformat.read(path, as_version=4)
    book_text = "\n".join(_markdown(nb))
    copy = student_copy(nb, index, path.relative_to(ROOT).with_suffix("").as_posix(), install_source="pass")
    text = "\n".join(_markdown(copy))
    assert RAW_MYST.search(text) is None, f"{path.name}: MyST left in the student copy: {RAW_MYST.search(text)[0]!r}"
    numbers = [index.labels[label][2] for label in EXERCISE.findall(book_text)]
    headings = [int(n) for n in re.findall(r"^### Exercise (\d+): ", text, re.M)]
    assert headings == numbers, f"{path.name}: exercise headings {headings}, website numbers {numbers}"
    for solution in (c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])):
        body = [ln for ln in solution.splitlines()[2:] if len(ln) > 40]
        assert body and body[0] not in text, f"{path.name}: solution text left in the student copy: {body[0]!r}"
    kept = [c for c in nb.cells if c.cell_type == "markdown" and "solution" not in c.metadata.get("tags", [])]
    shown = "\n".join(c.source for c in kept)
    cited = {k.strip() for m in re.findall(r"\{cite\}`([^`]*)`", shown) for k in m.split(",")}
    for key in cited:
        assert f"({index.citations[key]}" in text or f"; {index.citations[key]}" in text, f"{path.name}: {key}"
        assert f"* {index.citations[key]}: " in copy.cells[-1].source, f"{path.name}: {key} not in the references"
    assert copy.cells[0].cell_type == "code" and copy.cells[0].source == "pass"
    assert all(c.outputs == [] and c.execution_count is None for c in copy.cells if c.cell_type == "code")
    # Students run the live widget: the website's web twin is dropped, the widget cell kept.
    twins = [c.source for c in nb.cells if "web-twin" in c.metadata.get("tags", [])]
    widgets = [c.source for c in nb.cells if c.cell_type == "code" and re.search(r"^\w[\w.]*_widget\(", c.source, re.M)]
    code = [c.source for c in copy.cells if c.cell_type == "code"]
    assert len(twins) == len(widgets), f"{path.name}: {len(widgets)} widget cell(s), {len(twins)} web twin cell(s)"
    assert all(w in code for w in widgets) and not any(t in code for t in twins)


def test_rewriter_on_each_construct():
    index = BookIndex(
        site_url="https://example.org/site/",
        titles={"book/notation": "Notation", "book/part1/a": "Chapter A", "book/part1/b": "Chapter B"},
        labels={"ex-x": ("book/part1/a", "exercise", 4), "thm-y": ("book/part1/b", "prf:theorem", 2),
                "def-z": ("book/part1/a", "prf:definition", 7)},
        citations={"k1": "Zhang et al., 2024", "k2": "Huang and Xu, 2019"},
        references={"k1": "Z. Zhang, ... 2024.", "k2": "W. Huang and R. Xu. ... 2019."},
    )  # fmt: skip
    r = StudentRewriter(index, "book/part1/a")
    src = (
        ":::{admonition} Learning objectives\n:class: tip\nYou can $x$.\n:::\n\n"
        "As {cite}`k1,k2` showed (see {doc}`../notation`, {prf:ref}`thm-y`, {ref}`ex-x`).\n\n"
        "```{prf:definition} Thing\n:label: def-z\n\nA thing is $y$.\n```\n\n"
        "```{exercise} Try it\n:label: ex-x\n\nDo $z$.\n```\n\n"
        "```{solution} ex-x\n:class: dropdown\n\nSecret.\n```"
    )
    out = r.markdown(src)
    assert out == (
        "> **Learning objectives**\n>\n> You can $x$.\n\n"
        "As (Zhang et al., 2024; Huang and Xu, 2019) showed "
        "(see [Notation](https://example.org/site/book/notation.html), "
        "[Theorem 2](https://example.org/site/book/part1/b.html#thm-y) (chapter *Chapter B*), Exercise 4).\n\n"
        "**Definition 7** (Thing). A thing is $y$.\n\n"
        "### Exercise 4: Try it\n\nDo $z$."
    ), out
    assert r.references_cell() == (
        "## References\n\n* Zhang et al., 2024: Z. Zhang, ... 2024.\n"
        "* Huang and Xu, 2019: W. Huang and R. Xu. ... 2019."
    )
    with pytest.raises(ValueError, match="nokey"):
        r.markdown("{cite}`nokey`")
    with pytest.raises(ValueError, match="directive"):
        r.markdown("```{figure} x.png\n```")


def test_install_cell_pins_the_library_and_does_nothing_where_it_is_installed():
    source = install_cell_source("https://github.com/o/r", "abc123")
    pins = dict(ln.split("==") for ln in (ROOT / "requirements.txt").read_text().splitlines() if "==" in ln)
    assert '"dropout-theory @ git+https://github.com/o/r@abc123"' in source
    assert f'"torch=={pins["torch"]}"' in source and f'"numpy=={pins["numpy"]}"' in source
    shell = TransformerManager().transform_cell(source)  # how IPython (Jupyter, Colab) runs the %pip line
    calls = []
    namespace = {"get_ipython": lambda: type("IP", (), {"run_line_magic": lambda *a: calls.append(a[1:])})()}
    exec(compile(shell, "install-cell", "exec"), namespace)  # here dropout_theory is installed: nothing happens
    assert calls == []
    without = install_cell_source(None, None)
    assert "raise ModuleNotFoundError" in without and "%pip" not in without


def test_student_edition_command_writes_every_chapter(tmp_path):
    assert make_student_copies(["--out", str(tmp_path), "--repository", "https://github.com/o/r", "--ref", "abc"]) == 0
    written = sorted(tmp_path.rglob("*.ipynb"))
    assert len(written) == len(CHAPTERS)
    first = nbformat.read(written[0], as_version=4).cells[0]
    assert first.cell_type == "code" and "git+https://github.com/o/r@abc" in first.source


def test_student_reference_list_has_no_latex_commands():
    """pybtex's text rendering keeps \\url and \\texttt as words; the student copies must not show them."""
    _, full = _bibliography(ROOT / "book" / "references.bib")
    leftovers = {key: text for key, text in full.items() if "\\" in text}
    assert not leftovers, leftovers
