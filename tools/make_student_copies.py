"""Write the student edition of the chapters: plain Markdown that renders anywhere, no solutions, no outputs.

Usage: python tools/make_student_copies.py [--out student] [--site-url URL] [--repository URL] [--ref REF]
                                          [--keep-outputs]

The book's markdown is MyST, which only Jupyter Book and JupyterLab with jupyterlab-myst understand. The student
copies are rewritten into CommonMark plus ``$``/``$$`` math, which JupyterLab without extensions, VS Code and Colab
all render:

* a solution (a markdown cell tagged ``solution`` holding a ``{solution}`` directive) is removed;
* a web twin (a code cell tagged ``web-twin``: the website's precomputed copy of the widget above it) is removed,
  since students run the live widget;
* an ``{exercise}`` becomes a heading "Exercise N: title" followed by its text;
* a ``{prf:...}`` box (theorem, proposition, definition, conjecture) becomes a bold label "**Proposition N**
  (title)." before its text, and an admonition a block quote with its title in bold;
* ``{cite}`` becomes "(Zhang et al., 2024)" from book/references.bib, and each notebook ends with the full
  references it cites;
* ``{doc}``, ``{ref}`` and ``{prf:ref}`` become the target's title or number, linked to the website's page when the
  site's address is known (``--site-url``, default ``html.baseurl`` of _config.yml), else to the student copy of
  the chapter where there is one.

Numbers are the website's: each kind of box is counted through the book in table-of-contents order, as
sphinx-exercise and sphinx-proof number them (tests/test_browser.py compares the two). Code outputs are cleared
(unless --keep-outputs) so students execute the notebooks themselves, and a first code cell installs the book's
library when it is missing (as on Colab): ``%pip install`` of this repository at ``--ref`` (default: the current
commit) with the library's dependencies at the versions of requirements.txt. Where the library is installed, as in
the book's own environment, the cell does nothing. The copies keep the folder structure of ``book/`` under the
output folder (default ``student/``, git-ignored). Instructor-only pages (``book/instructor/``) are not copied.
"""

from __future__ import annotations

import argparse
import posixpath
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from book_inventory import BOOK, toc_files  # noqa: E402

SOLUTION_TAG = "solution"
INSTALL_TAG = "install-library"
WEB_TWIN_TAG = "web-twin"
INSTRUCTOR_ONLY = BOOK / "instructor"
# Directive kinds counted like on the website (sphinx-exercise, sphinx-proof), and their display names.
NUMBERED = {"exercise": "Exercise"} | {
    f"prf:{k}": k.capitalize()
    for k in ("theorem", "proposition", "definition", "conjecture", "lemma", "corollary", "example", "remark")
}
FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
ROLE = re.compile(r"\{(?P<role>cite(?::[a-z]+)?|doc|ref|prf:ref|numref)\}`(?P<body>[^`]*)`")


@dataclass
class Directive:
    name: str
    arg: str
    options: dict[str, str]
    body: str


@dataclass
class BookIndex:
    """What the rewrite needs to know about the whole book: titles, pages, numbered labels, the bibliography."""

    site_url: str | None
    titles: dict[str, str] = field(default_factory=dict)  # doc name ("book/part1/sme") -> title
    labels: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # label -> (doc, kind, number)
    citations: dict[str, str] = field(default_factory=dict)  # key -> "Zhang et al., 2024"
    references: dict[str, str] = field(default_factory=dict)  # key -> full reference, plain text


def _split_directives(text: str) -> list[str | Directive]:
    """Split MyST text into plain chunks and top-level directives (fenced with backticks or colons)."""
    lines = text.split("\n")
    out: list[str | Directive] = []
    plain: list[str] = []
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            plain.append(lines[i])
            i += 1
            continue
        fence = m["fence"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        body = lines[i + 1 : j]
        options: dict[str, str] = {}
        while body and OPTION.match(body[0]):
            opt = OPTION.match(body[0])
            options[opt["key"]] = opt["value"].strip()
            body = body[1:]
        if plain:
            out.append("\n".join(plain))
            plain = []
        out.append(Directive(m["name"], m["arg"].strip(), options, "\n".join(body).strip("\n")))
        i = j + 1
    if plain:
        out.append("\n".join(plain))
    return out


def _doc_name(path: Path) -> str:
    return path.relative_to(ROOT).with_suffix("").as_posix()


def _markdown_sources(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return [path.read_text()]


def _author_year(entry) -> str:
    from pybtex.richtext import Text

    people = entry.persons.get("author", [])
    names = [Text.from_latex(" ".join(p.last_names or p.first_names)).render_as("text") for p in people]
    year = entry.fields.get("year", "n.d.")
    if len(names) >= 3:
        who = f"{names[0]} et al."
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = names[0] if names else "Anonymous"
    return f"{who}, {year}"


def _bibliography(bib_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    bib = parse_file(str(bib_path))
    style = find_plugin("pybtex.style.formatting", "plain")()
    text = find_plugin("pybtex.backends", "text")()
    full = {e.key: " ".join(e.text.render(text).split()) for e in style.format_entries(bib.entries.values())}
    # pybtex's text backend keeps LaTeX commands as words ("\url https://…", "\texttt name"): keep their argument
    full = {k: re.sub(r"\\(?:url|texttt|emph|textit|textbf)\s*\{?([^\s{}]+)\}?", r"\1", v) for k, v in full.items()}
    return {k: _author_year(e) for k, e in bib.entries.items()}, full


def site_url_from_config(root: Path = ROOT) -> str | None:
    """The website's address: ``html.baseurl`` of _config.yml (set by the publishing workflow), or None."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    url = (config.get("html") or {}).get("baseurl")
    return url.rstrip("/") + "/" if url else None


def book_index(site_url: str | None) -> BookIndex:
    """Titles, numbered labels (website numbering) and citations of the book, in table-of-contents order."""
    index = BookIndex(site_url=site_url)
    counters: dict[str, int] = {}
    for path in toc_files():
        doc = _doc_name(path)
        for source in _markdown_sources(path):
            heading = re.search(r"^# (.+)$", source, re.M)
            if heading and doc not in index.titles:
                index.titles[doc] = heading.group(1).strip()
            for part in _split_directives(source):
                if isinstance(part, Directive) and part.name in NUMBERED and "nonumber" not in part.options:
                    counters[part.name] = counters.get(part.name, 0) + 1
                    if "label" in part.options:
                        index.labels[part.options["label"]] = (doc, part.name, counters[part.name])
    index.citations, index.references = _bibliography(BOOK / "references.bib")
    return index


class StudentRewriter:
    """Rewrites the MyST markdown of one chapter into CommonMark + math."""

    def __init__(self, index: BookIndex, doc: str):
        self.index, self.doc = index, doc
        self.cited: list[str] = []

    def _link(self, doc: str, anchor: str = "") -> str | None:
        if self.index.site_url:
            return f"{self.index.site_url}{doc}.html" + (f"#{anchor}" if anchor else "")
        target = ROOT / f"{doc}.ipynb"
        if target.exists() and not target.is_relative_to(INSTRUCTOR_ONLY):
            here = (ROOT / self.doc).parent
            rel = Path(*[".."] * len(here.relative_to(BOOK).parts), target.relative_to(BOOK))
            return rel.as_posix() + (f"#{anchor}" if anchor else "")
        return None

    def _role(self, m: re.Match) -> str:
        role, body = m["role"], m["body"].strip()
        explicit = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^>]+)>$", body)
        text, target = (explicit["text"], explicit["target"]) if explicit else (None, body)
        if role.startswith("cite"):
            keys = [k.strip() for k in target.split(",")]
            for k in keys:
                if k not in self.index.citations:
                    raise ValueError(f"{self.doc}: citation key {k!r} is not in book/references.bib")
                if k not in self.cited:
                    self.cited.append(k)
            return "(" + "; ".join(self.index.citations[k] for k in keys) + ")"
        if role == "doc":
            doc = posixpath.normpath(posixpath.join(posixpath.dirname(self.doc), target))
            title = text or self.index.titles.get(doc)
            if title is None:
                raise ValueError(f"{self.doc}: {{doc}} target {target!r} is not a page of the book")
            url = self._link(doc)
            return f"[{title}]({url})" if url else f"*{title}*"
        if target not in self.index.labels:
            raise ValueError(f"{self.doc}: reference target {target!r} is not a numbered box of the book")
        doc, kind, number = self.index.labels[target]
        label = text or f"{NUMBERED[kind]} {number}"
        if doc == self.doc:
            return label
        url = self._link(doc, target)
        where = self.index.titles.get(doc, doc)
        return f"[{label}]({url}) (chapter *{where}*)" if url else f"{label} (chapter *{where}*)"

    def inline(self, text: str) -> str:
        return ROLE.sub(self._role, text)

    def directive(self, d: Directive) -> str | None:
        if d.name == "solution":
            return None
        body = self.markdown(d.body)
        if d.name == "exercise":
            number = self.index.labels[d.options["label"]][2] if "label" in d.options else None
            title = self.inline(d.arg)
            head = f"### Exercise {number}" if number else "### Exercise"
            return f"{head}: {title}\n\n{body}" if title else f"{head}\n\n{body}"
        if d.name in NUMBERED:
            number = self.index.labels[d.options["label"]][2] if "label" in d.options else None
            label = f"**{NUMBERED[d.name]}{f' {number}' if number else ''}**"
            if d.arg:
                label += f" ({self.inline(d.arg)})"
            first_is_text = body and not re.match(r"^(\$\$|[*+-] |\d+\. |>|#|\|)", body)
            return f"{label}. {body}" if first_is_text else f"{label}.\n\n{body}"
        if d.name == "admonition" or d.name in ("note", "tip", "important", "warning", "hint", "seealso"):
            title = self.inline(d.arg) if d.arg else d.name.capitalize()
            quoted = "\n".join(f"> {line}".rstrip() for line in f"**{title}**\n\n{body}".split("\n"))
            return quoted
        if d.name == "math":
            return f"$$\n{d.body}\n$$"
        raise ValueError(f"{self.doc}: no plain-Markdown form for the directive {{{d.name}}}")

    def markdown(self, text: str) -> str:
        parts = []
        for part in _split_directives(text):
            if isinstance(part, Directive):
                converted = self.directive(part)
                if converted is not None:
                    parts.append(converted)
            else:
                parts.append(self.inline(part))
        return "\n\n".join(p.strip("\n") for p in parts if p.strip())

    def references_cell(self) -> str | None:
        if not self.cited:
            return None
        lines = [f"* {self.index.citations[k]}: {self.index.references[k]}" for k in self.cited]
        return "## References\n\n" + "\n".join(lines)


def install_cell_source(repository: str | None, ref: str | None, root: Path = ROOT) -> str:
    """Source of the first cell: installs the library (pinned) only when ``dropout_theory`` cannot be imported."""
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for line in (root / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    pinned = []
    for dep in deps:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", dep)[0]).lower()
        if name not in pins:
            raise ValueError(f"the library's dependency {dep!r} has no pinned version in requirements.txt")
        pinned.append(f'"{name}=={pins[name]}"')
    head = (
        "# Runs only where the book's library is missing (Colab, a fresh Python): installs it from the book's\n"
        "# repository with its dependencies at the book's pinned versions. In the book's own environment it does\n"
        "# nothing.\n"
        "import importlib.util\n\n"
        'if importlib.util.find_spec("dropout_theory") is None:\n'
    )
    if repository is None:
        return head + (
            '    raise ModuleNotFoundError("dropout_theory is not installed: run `bash tasks.sh jupyter` in a clone of '
            'the book\'s repository (this copy was made without the repository\'s address)")'
        )
    url = f"git+{repository.rstrip('/')}" + (f"@{ref}" if ref else "")
    return head + f'    %pip install --quiet "dropout-theory @ {url}" {" ".join(pinned)}'


def student_copy(
    nb: nbformat.NotebookNode,
    index: BookIndex,
    doc: str,
    install_source: str | None = None,
    keep_outputs: bool = False,
) -> nbformat.NotebookNode:
    """The student copy of notebook ``nb``, the book page ``doc`` (e.g. "book/part1/sme"): see the module docstring.

    ``install_source`` is the source of the first cell (:func:`install_cell_source`); None adds no such cell.
    """
    rewriter = StudentRewriter(index, doc)
    out = nbformat.from_dict(nb)
    cells = []
    for cell in out.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if SOLUTION_TAG in tags or WEB_TWIN_TAG in tags:
            continue
        if cell.cell_type == "markdown":
            cell.source = rewriter.markdown(cell.source)
            if not cell.source.strip():
                continue
        elif cell.cell_type == "code" and not keep_outputs:
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    references = rewriter.references_cell()
    if references:
        cells.append(nbformat.v4.new_markdown_cell(references, id="student-references"))
    if install_source is not None:
        install = nbformat.v4.new_code_cell(install_source, id="install-library")
        install.metadata["tags"] = [INSTALL_TAG]
        cells.insert(0, install)
    out.cells = cells
    if not keep_outputs:
        out.metadata.pop("widgets", None)
    return out


def _git_head() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _repository_from_config() -> str | None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return (config.get("repository") or {}).get("url")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="output folder (default: student/)")
    parser.add_argument("--site-url", default=None, help="the website's address (default: html.baseurl)")
    parser.add_argument("--repository", default=None, help="git URL the install cell uses (default: repository.url)")
    parser.add_argument("--ref", default=None, help="commit the install cell pins (default: the current commit)")
    parser.add_argument("--keep-outputs", action="store_true", help="keep the stored outputs")
    args = parser.parse_args(argv)
    index = book_index(args.site_url or site_url_from_config())
    repository = args.repository or _repository_from_config()
    install = install_cell_source(repository, args.ref or _git_head())
    notebooks = [p for p in toc_files() if p.suffix == ".ipynb" and not p.is_relative_to(INSTRUCTOR_ONLY)]
    removed = 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        copy = student_copy(nb, index, _doc_name(path), install, args.keep_outputs)
        removed += sum(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells)
        target = args.out / path.relative_to(BOOK)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(copy, target)
    links = index.site_url or "the student copies (no site address: set html.baseurl or --site-url)"
    print(
        f"wrote {len(notebooks)} student notebooks to {args.out} ({removed} solution cells removed); "
        f"links point to {links}; install cell: {repository or 'none (no repository address)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
