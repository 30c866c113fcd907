"""Re-execute the book's notebooks in place from a fresh kernel, the one way stored outputs are made.

Usage: python tools/refresh_notebooks.py [NOTEBOOK ...]   (default: every notebook listed in _toc.yml)

Each notebook runs top to bottom in a new kernel of this environment, with its folder as working directory,
a per-cell timeout, and the thread settings of the test command (one OpenMP/MKL thread). Execution timestamps
and other volatile metadata are stripped so diffs show only real changes. The wall time of each notebook is
printed and a notebook over the 90 s budget makes the command fail (after writing it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from book_inventory import toc_notebooks  # noqa: E402

BUDGET_S = 90.0
CELL_TIMEOUT_S = 300
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def clean(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Strip execution timestamps and volatile metadata; give widget models ids that do not change between runs.

    Args:
        nb: the executed notebook.
        name: the notebook's file name (seeds the widget model ids, so two notebooks never share one).

    Returns:
        The cleaned notebook (a new object: widget ids are replaced throughout its JSON).
    """
    for i, cell in enumerate(nb.cells):
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        cell["id"] = f"cell-{i}"  # stable ids: diffs show only real changes
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return stable_widget_ids(nb, name)


def merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) outputs into one, as nbval does before comparing.

    How the kernel splits a cell's prints into stream messages depends on timing (a busy machine flushes more
    often), so unmerged outputs would change between refreshes without any change of content.
    """
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if out.output_type == "stream" and prev is not None and prev.output_type == "stream" and prev.name == out.name:
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def stable_widget_ids(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Replace the random ids of the stored widget models by ids derived from the notebook name and creation order.

    ipywidgets names every model with a random uuid4, so each refresh would rewrite every widget output and the
    whole widget state of a notebook although nothing changed. The models are created in the same order on every run,
    so the k-th model gets md5(f"{name}:{k}") instead; the ids stay unique and the state stays self-consistent.
    """
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    if not state:
        return nb
    text = json.dumps(nb)
    for k, old in enumerate(list(state)):
        text = text.replace(old, hashlib.md5(f"{name}:{k}".encode()).hexdigest())
    return nbformat.from_dict(json.loads(text))


def refresh(path: Path) -> float:
    """Execute one notebook in place; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nb = clean(nb, path.name)
    nb.nbformat_minor = 5
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    # Same thread settings as the test command (the kernels inherit them).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to refresh (default: all in _toc.yml)"
    )
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or toc_notebooks()
    over = []
    for path in paths:
        elapsed = refresh(path)
        flag = "" if elapsed <= BUDGET_S else f"  OVER the {BUDGET_S:.0f} s budget"
        print(f"{elapsed:7.1f} s  {path.relative_to(ROOT)}{flag}", flush=True)
        if flag:
            over.append(path)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
