"""Local Sphinx extension of the book: page assets that must be right for the offline website.

* Jupyter Book 1 runs the set-up of sphinx-thebe and sphinx-togglebutton twice (once with ``filename=None``,
  once with ``filename=''``), so every page declared ``const THEBE_JS_URL`` twice and the browser raised
  "Identifier 'THEBE_JS_URL' has already been declared". Identical script entries are removed from each page.
* The book's style sheet ``book/assets/book.css`` (narrow screens: display math and tables scroll inside their
  box, long names wrap) is added to every page.
* Precomputed interactive figures (:mod:`dropout_theory.plotting.interactive`) need plotly.js. It is copied from
  the installed plotly package (same version as the Python side) into ``_static/vendor/`` and loaded only on the
  pages that contain such a figure, so no page fetches it from a CDN.
* The site without solutions (``bash tasks.sh build --no-solutions`` sets sphinx-exercise's ``hide_solutions``)
  must not point at the instructor-only pages it leaves out. The full build sets the Sphinx tag ``instructor``,
  so a page can say ``{only} instructor`` around text meant for the instructor edition only. Sphinx filters
  ``only`` blocks after resolving their cross-references, which would warn about the missing page; the blocks are
  therefore filtered when the page is read, with Sphinx's own function.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.transforms import SphinxTransform
from sphinx.util.fileutil import copy_asset_file
from sphinx.util.nodes import process_only_nodes

PLOTLY_JS = "vendor/plotly.min.js"
BOOK_CSS = "book.css"  # book/assets/book.css: layout on phones and of wide content (math, tables, signatures)


def _plotly_source() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _add_plotly_where_needed(app, pagename, templatename, context, doctree):
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=400)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", str(js)) or "", getattr(js, "priority", 0), tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _copy_plotly(app, exc):
    if exc is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / PLOTLY_JS
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_asset_file(str(_plotly_source()), str(target))


def _tag_instructor_edition(app, config):
    if not getattr(config, "hide_solutions", False):
        app.tags.add("instructor")


class FilterOnlyBlocksOnRead(SphinxTransform):
    default_priority = 1  # before anything resolves or collects the references inside

    def apply(self, **kwargs):
        process_only_nodes(self.document, self.app.tags)


def setup(app):
    app.add_css_file(BOOK_CSS)
    app.connect("config-inited", _tag_instructor_edition)
    app.add_transform(FilterOnlyBlocksOnRead)
    app.connect("html-page-context", _add_plotly_where_needed, priority=500)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _copy_plotly)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
