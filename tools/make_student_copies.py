"""Write student copies of the chapters: solution cells removed, code outputs cleared.

Usage: python tools/make_student_copies.py [--out student] [--keep-outputs]

A solution is a markdown cell tagged ``solution`` (it holds a ``{solution}`` directive); the exercises stay.
The copies keep the folder structure of ``book/`` under the output folder (default ``student/``, git-ignored),
so relative links and data paths keep working. Outputs are cleared unless --keep-outputs is given, so students
execute the notebooks themselves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from book_inventory import BOOK, toc_notebooks  # noqa: E402

SOLUTION_TAG = "solution"


def student_copy(nb: nbformat.NotebookNode, keep_outputs: bool = False) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without solution cells (and without outputs unless ``keep_outputs``)."""
    out = nbformat.from_dict(nb)
    out.cells = [c for c in out.cells if SOLUTION_TAG not in c.get("metadata", {}).get("tags", [])]
    if not keep_outputs:
        for cell in out.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        out.metadata.pop("widgets", None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="output folder (default: student/)")
    parser.add_argument("--keep-outputs", action="store_true", help="keep the stored outputs")
    args = parser.parse_args(argv)
    removed = 0
    notebooks = toc_notebooks()
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        copy = student_copy(nb, args.keep_outputs)
        removed += len(nb.cells) - len(copy.cells)
        target = args.out / path.relative_to(BOOK)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(copy, target)
    print(f"wrote {len(notebooks)} student notebooks to {args.out} ({removed} solution cells removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
