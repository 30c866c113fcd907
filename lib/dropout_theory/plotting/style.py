"""Shared matplotlib style of the book's figures, sized for the website's content column.

The website's content column is :data:`CONTENT_COLUMN_PX` = 688 CSS pixels wide at a 1280 px window (measured on
the built site). A figure of the book is at most :data:`BOOK_FIGURE_WIDTH` inches wide at :data:`BOOK_DPI`, i.e. at
most 680 CSS pixels, so that the browser never scales it down; it is stored as a PNG of twice that many pixels
(sharp on high-density screens) with its intended CSS width in the output's metadata (``{"image/png": {"width":
w}}``), which MyST-NB writes into the page as the image's ``style="width: w px"``: the intended width of an image
is that width, half its natural width. No text is smaller than 8 pt (11 CSS pixels at display size). The colour
cycle is the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import io
from binascii import b2a_base64

import matplotlib as mpl
from cycler import cycler

CONTENT_COLUMN_PX = 688
"""Width of the website's content column at a 1280 px window, CSS pixels (measured on the built site)."""
BOOK_DPI = 100
"""Dots per inch of a figure at its display size: one dot per CSS pixel."""
BOOK_FIGURE_WIDTH = 6.8
"""Widest figure of the book, inches (680 CSS pixels at :data:`BOOK_DPI`; the content column is 688)."""
BOOK_PNG_SCALE = 2
"""Stored PNGs have this many pixels per CSS pixel."""
PNG_COLORS = 256
"""Colours of a stored figure's palette (see :func:`_palette_png`)."""
MIN_FONT_PT = 8.0
"""Smallest font size of the style, points (11 CSS pixels at :data:`BOOK_DPI`)."""
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
"""Okabe & Ito's colour-blind-safe palette, in the order of the book's colour cycle (``C0`` … ``C7``)."""

BOOK_RC = {
    "figure.dpi": BOOK_DPI,
    "savefig.dpi": BOOK_DPI,
    "figure.figsize": (BOOK_FIGURE_WIDTH, 3.6),
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def _png_at_twice_the_resolution(fig) -> tuple[str, dict[str, int]] | None:
    """IPython ``image/png`` formatter: the figure at ``BOOK_PNG_SCALE`` × its dpi, its CSS width in the metadata.

    Only the width is stored (not the height, as IPython's ``retina`` format does): the page then scales the
    height with the width when a narrow screen shrinks the image.
    """
    from IPython.core.pylabtools import print_figure

    data = print_figure(fig, fmt="png", bbox_inches="tight", dpi=BOOK_PNG_SCALE * fig.dpi)
    if data is None:  # an empty figure
        return None
    data, width = _palette_png(data)
    return b2a_base64(data, newline=False).decode("ascii"), {"width": width // BOOK_PNG_SCALE}


def _palette_png(data: bytes) -> tuple[bytes, int]:
    """The PNG ``data`` re-encoded with a palette of :data:`PNG_COLORS` colours (median cut, no dithering), and
    its width in pixels.

    A figure has few distinct colours besides the anti-aliasing of its edges: the palette image looks the same
    and is about a third of the size of the RGBA one, so that the 2× figures do not make the notebooks larger than
    the 1× RGBA ones were.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    palette = rgb.quantize(colors=PNG_COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue(), rgb.width


def use_book_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter).

    Sets :data:`BOOK_RC` and, inside IPython, makes every displayed figure a PNG at twice its resolution that
    displays at its size in CSS pixels (see :func:`_png_at_twice_the_resolution`).
    """
    mpl.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: only the rc settings
        return
    shell = get_ipython()
    if shell is None:
        return
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # Load the backend now: the inline backend registers its own formatters when it is loaded, which would
    # replace ours if it happened later.
    plt.switch_backend(mpl.get_backend())
    formatters = shell.display_formatter.formatters
    for mime in ("image/svg+xml", "image/jpeg", "application/pdf"):
        formatters[mime].pop(Figure, None)
    formatters["image/png"].for_type(Figure, _png_at_twice_the_resolution)
