"""Local Sphinx extension of the book: page assets that must be right for the offline website.

Jupyter Book 1 runs the set-up of sphinx-thebe and sphinx-togglebutton twice (once with ``filename=None``, once
with ``filename=''``), so every page declared ``const THEBE_JS_URL`` twice and the browser raised "Identifier
'THEBE_JS_URL' has already been declared". Identical script entries are removed before each page is written.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        key = (
            getattr(js, "filename", str(js)) or "",
            getattr(js, "priority", 0),
            tuple(sorted(attrs.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
