"""Configuration of the website without solutions (``bash tasks.sh build --no-solutions``).

Usage: python tools/no_solutions.py OUT_DIR   (prints the paths of the config and table of contents it wrote)

It writes OUT_DIR/_config.yml and OUT_DIR/_toc.yml, derived from the book's own files: the config adds
sphinx-exercise's ``hide_solutions`` (every ``{solution}`` directive is dropped from the pages) and the table of
contents leaves out the instructor-only pages under ``book/instructor/`` (rubrics and worked solutions of the
assignments). Paths that Jupyter Book resolves against the config file's folder (local extensions) are made
absolute; everything else stays relative to the book root, as in ``_config.yml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTOR_ONLY = "book/instructor/"


def _drop_instructor_only(node):
    if isinstance(node, list):
        return [_drop_instructor_only(n) for n in node if not _instructor_only(n)]
    if isinstance(node, dict):
        kept = {k: _drop_instructor_only(v) if k in ("parts", "chapters", "sections") else v for k, v in node.items()}
        return {k: v for k, v in kept.items() if v != []}  # a page whose only sections were dropped has none
    return node


def _instructor_only(node) -> bool:
    return isinstance(node, dict) and str(node.get("file", "")).startswith(INSTRUCTOR_ONLY)


def no_solutions_config(root: Path = ROOT) -> tuple[dict, dict]:
    """The book's config and table of contents for the site without solutions, as dictionaries."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    extensions = sphinx.get("local_extensions") or {}
    sphinx["local_extensions"] = {name: str((root / path).resolve()) for name, path in extensions.items()}
    return config, _drop_instructor_only(toc)


def write_no_solutions_config(out_dir: Path, root: Path = ROOT) -> tuple[Path, Path]:
    """Write ``_config.yml`` and ``_toc.yml`` of the site without solutions into ``out_dir``; returns their paths."""
    config, toc = no_solutions_config(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path, toc_path = out_dir / "_config.yml", out_dir / "_toc.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    return config_path, toc_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    print(*write_no_solutions_config(args.out_dir), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
