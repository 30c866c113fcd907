"""Guards on the book's structure and on the stored notebook outputs that nbval relies on."""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.book_inventory import BOOK, ROOT, book_notebooks, toc_files, toc_notebooks

NOTEBOOKS = toc_notebooks()
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_every_toc_entry_exists():
    missing = [str(p.relative_to(ROOT)) for p in toc_files() if not p.exists()]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_toc_and_book_folder_list_the_same_notebooks():
    in_toc = {p.resolve() for p in NOTEBOOKS}
    on_disk = set(book_notebooks())
    assert on_disk - in_toc == set(), f"notebooks in book/ missing from _toc.yml: {sorted(on_disk - in_toc)}"
    assert in_toc - on_disk == set(), f"_toc.yml notebooks not under book/: {sorted(in_toc - on_disk)}"


def test_book_has_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_execution_counts_run_one_to_n(path):
    """nbval never compares cells whose stored execution_count is null: an unexecuted notebook would pass."""
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: stored execution counts {counts} are not 1..n; "
        f"run `bash tasks.sh refresh {path.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_have_no_errors_or_stderr(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.outputs:
            assert out.output_type != "error", f"{path.name}: code cell {i + 1} stored an error"
            if out.output_type == "stream":
                assert out.name != "stderr", f"{path.name}: code cell {i + 1} wrote to stderr: {out.text[:200]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widget_cells_are_tagged_and_metadata_clean(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        has_widget = any(WIDGET_MIME in out.get("data", {}) for out in cell.outputs)
        code = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("from ", "import ")))
        makes_widget = re.search(r"\binteract(ive)?\(|(?<!\w)widgets\.\w+\(|_widget\(", code) is not None
        if has_widget or makes_widget:
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), (
                f"{path.name}: code cell {i + 1} shows a widget but is not tagged nbval-ignore-output"
            )
        assert "execution" not in cell.metadata, f"{path.name}: cell {i + 1} has execution timestamps"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_has_a_widget_with_a_static_twin(path):
    """Each chapter notebook shows at least one widget, and a static figure earlier in the notebook."""
    if path.parent == BOOK and path.stem in {"intro", "notation"}:
        pytest.skip("front matter")
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    widget_at = [i for i, c in enumerate(cells) if any(WIDGET_MIME in o.get("data", {}) for o in c.outputs)]
    image_at = [i for i, c in enumerate(cells) if any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert widget_at, f"{path.name}: no widget output stored"
    assert image_at and min(image_at) < widget_at[0], f"{path.name}: no static figure before the first widget"
