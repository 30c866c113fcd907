"""Local Sphinx extension of the book: the API reference pages, one per subpackage.

``.. api-reference:: MODULE [MODULE ...]`` writes, for the modules given, one summary table (Sphinx's
``autosummary``, linking to the entries below it on the same page) followed by each module's documentation
(``automodule``). The public names of a module are its ``__all__`` when it has one, else the functions and classes
it defines whose names do not start with an underscore; the table and the documentation list the same names, so
every object is documented once and appears in the table. Options:

* ``:submodules:`` — document the public submodules of each package given instead of the package itself (the
  plotting, widgets and symbolic packages, which export nothing from their ``__init__``);
* content lines — extra fully qualified names (module constants) to add to their module's list.

It also makes sphinx-codeautolink (which links the names used in the chapters' code cells to these pages) walk
the sections that sphinx-exercise leaves without a title.

Every object entry becomes an entry of the page's right-hand table of contents (Sphinx's ``toc_object_entries``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from sphinx_codeautolink import extension as codeautolink
from sphinx_codeautolink.extension.block import CodeBlockAnalyser


def public_names(module_name: str) -> list[str]:
    """The functions and classes a module exports: those in ``__all__``, else those it defines.

    Constants are left out (their docstring would be the one of their type); name them in the directive's
    content when they carry a ``#:`` doc comment.
    """
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        exported = [name for name, obj in vars(module).items() if getattr(obj, "__module__", None) == module_name]
    return [
        name
        for name in exported
        if not name.startswith("_")
        and (inspect.isroutine(getattr(module, name)) or inspect.isclass(getattr(module, name)))
    ]


def public_submodules(package_name: str) -> list[str]:
    package = importlib.import_module(package_name)
    return [
        f"{package_name}.{info.name}"
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    ]


class ApiReference(SphinxDirective):
    required_arguments = 1
    optional_arguments = 50
    has_content = True
    option_spec: ClassVar[dict] = {"submodules": directives.flag}

    def run(self) -> list[nodes.Node]:
        modules = list(self.arguments)
        if "submodules" in self.options:
            modules = [sub for package in modules for sub in public_submodules(package)]
        members = {module: public_names(module) for module in modules}
        for extra in (line.strip() for line in self.content if line.strip()):
            module, _, name = extra.rpartition(".")
            if module not in members:
                raise self.error(f"extra name {extra!r}: its module is not one of {modules}")
            members[module].append(name)
        lines = [".. autosummary::", ""]
        lines += [f"   ~{module}.{name}" for module, names in members.items() for name in names]
        for module, names in members.items():
            lines += ["", f".. automodule:: {module}", f"   :members: {', '.join(names)}" if names else ""]
        container = nodes.container()
        source = self.get_source_info()[0]
        nested_parse_with_titles(self.state, StringList(lines, source=source), container, self.content_offset)
        return container.children


class _CodeBlockAnalyser(CodeBlockAnalyser):
    """sphinx-codeautolink's walker, for sections without a title (sphinx-exercise's exercise and solution bodies).

    The walker pushes a section's title when it visits the title and pops one when it leaves the section, so an
    untitled section emptied its stack ("pop from empty list"); it now inherits its parent's title.
    """

    def visit_section(self, node) -> None:
        super().visit_section(node)
        if not (node.children and isinstance(node.children[0], nodes.title)):
            self.title_stack.append(self.title_stack[-1] if self.title_stack else "")


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.add_directive("api-reference", ApiReference)
    codeautolink.CodeBlockAnalyser = _CodeBlockAnalyser
    return {"parallel_read_safe": True, "parallel_write_safe": True}
