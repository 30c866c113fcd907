"""Which notebooks and pages the book has, read from _toc.yml (shared by tests and tools)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def _entries(node) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                out.append(node[key])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                out.extend(_entries(child))
    elif isinstance(node, list):
        for child in node:
            out.extend(_entries(child))
    return out


def toc_files() -> list[Path]:
    """Every source file named in _toc.yml, resolved to an existing path (.ipynb or .md)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []
    for entry in _entries(toc):
        stem = ROOT / entry
        matches = [stem.with_suffix(s) for s in (".ipynb", ".md") if stem.with_suffix(s).exists()]
        files.append(matches[0] if matches else stem)
    return files


def toc_notebooks() -> list[Path]:
    """The notebooks named in _toc.yml, in book order."""
    return [p for p in toc_files() if p.suffix == ".ipynb"]


def book_notebooks() -> list[Path]:
    """Every notebook stored under book/ (checkpoints excluded)."""
    return sorted(p.resolve() for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
