"""Figure helpers of the book (matplotlib), one module per part; plus the shared style in :mod:`.style`.

Every function returns what it drew on: the Axes (its ``.figure`` is the figure), or the Figure (or array of
Axes) of a multi-panel figure, so that tests can check the plotted data against the library's values.

Web twins of the widgets (:mod:`.web_twin`): a widget's own matplotlib drawing, precomputed over a grid of its
controls and converted to plotly (:mod:`.mpl_to_plotly`), so that its controls work on the static website.
"""

from dropout_theory.plotting.mpl_to_plotly import figure_to_plotly
from dropout_theory.plotting.web_twin import live_only, twin_figures, web_twin

__all__ = ["figure_to_plotly", "live_only", "twin_figures", "web_twin"]
