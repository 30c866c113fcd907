"""ipywidgets controls used by the chapters, one module per part of the book.

Each widget function returns a displayable widget whose callback calls the library; every widget in the book
is shown after a static figure at default values (its "static twin") so the website, which has no kernel,
still shows the result. Import the module of the part you need, e.g. ``from dropout_theory.widgets import
two_layer``.
"""
