"""Figure helpers of the book (matplotlib), one module per part; plus the shared style in :mod:`.style`.

Every function returns what it drew on: the Axes (its ``.figure`` is the figure), or the Figure (or array of
Axes) of a multi-panel figure, so that tests can check the plotted data against the library's values.
"""
