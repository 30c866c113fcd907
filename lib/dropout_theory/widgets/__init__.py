"""ipywidgets controls used by the chapters, one module per part of the book.

Each widget function returns a displayable widget whose callback calls the library and draws with a public
``draw_…`` function. The website has no kernel, so each widget also has a web twin (``…_twin``, same arguments):
the same ``draw_…`` function precomputed over a small grid of the controls
(:func:`dropout_theory.plotting.web_twin.web_twin`), whose controls switch the stored figures in the browser.
A widget too slow to precompute has a stand-in with its controls disabled and the note that it runs live in
Jupyter (:func:`dropout_theory.plotting.web_twin.live_only`). Import the module of the part you need, e.g.
``from dropout_theory.widgets import two_layer``.
"""
