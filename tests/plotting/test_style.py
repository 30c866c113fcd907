"""The book's figure style: figures fit the website's content column and are stored at twice their resolution."""

import base64
import io
import struct

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure

from dropout_theory.plotting import style


@pytest.fixture(autouse=True)
def _restore_rc():
    with mpl.rc_context():
        yield
    plt.close("all")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_widest_figure_fits_the_measured_content_column_and_fonts_are_readable():
    assert style.BOOK_FIGURE_WIDTH * style.BOOK_DPI <= style.CONTENT_COLUMN_PX
    # no figure shown below 90 % of its size: the widest one is at least 90 % of the column
    assert style.BOOK_FIGURE_WIDTH * style.BOOK_DPI >= 0.9 * style.CONTENT_COLUMN_PX
    style.use_book_style()
    sizes = [mpl.rcParams[k] for k in ("font.size", "axes.titlesize", "axes.labelsize", "legend.fontsize")]
    sizes += [mpl.rcParams["xtick.labelsize"], mpl.rcParams["ytick.labelsize"]]
    assert all(isinstance(s, int | float) and s >= style.MIN_FONT_PT for s in sizes)
    assert style.MIN_FONT_PT * style.BOOK_DPI / 72 >= 9  # CSS pixels at display size
    colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.upper() for c in colors] == list(style.OKABE_ITO)


def test_png_is_stored_at_twice_its_display_width():
    style.use_book_style()
    fig, ax = plt.subplots(figsize=(style.BOOK_FIGURE_WIDTH, 3.0))
    ax.plot([0, 1], [0, 1])
    encoded, meta = style._png_at_twice_the_resolution(fig)
    width, _ = _png_size(base64.b64decode(encoded))
    assert set(meta) == {"width"}  # no height: a narrow screen scales the image proportionally
    assert width in (2 * meta["width"], 2 * meta["width"] + 1)
    # bbox_inches="tight" trims the margins: close to, never above, the figure's width
    assert 0.8 * style.BOOK_FIGURE_WIDTH * style.BOOK_DPI <= meta["width"] <= style.CONTENT_COLUMN_PX


def test_palette_png_keeps_the_pixels_of_a_figure_with_few_colours():
    from PIL import Image

    fig, ax = plt.subplots(figsize=(3.0, 2.0))
    ax.bar([0, 1, 2], [1, 2, 3], color=["C0", "C1", "C2"])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data, width = style._palette_png(buffer.getvalue())
    with Image.open(io.BytesIO(buffer.getvalue())) as a, Image.open(io.BytesIO(data)) as b:
        assert b.mode == "P" and width == a.width == b.width and a.size == b.size
        ra, rb = np.asarray(a.convert("RGB"), dtype=int), np.asarray(b.convert("RGB"), dtype=int)
    assert len(data) < len(buffer.getvalue())
    # exact where the figure has its flat colours; anti-aliased edge pixels move to a nearby palette colour
    assert np.mean(np.all(ra == rb, axis=-1)) > 0.95 and np.abs(ra - rb).max() <= 48


def test_use_book_style_registers_the_2x_png_formatter_in_ipython():
    shell = InteractiveShell.instance()
    try:
        style.use_book_style()
        png = shell.display_formatter.formatters["image/png"]
        assert png.lookup_by_type(Figure) is style._png_at_twice_the_resolution
        fig, ax = plt.subplots(figsize=(3.0, 2.0))
        ax.plot([0, 1])
        data, metadata = shell.display_formatter.format(fig)
        assert "image/png" in data
        assert set(metadata["image/png"]) == {"width"} and 250 <= metadata["image/png"]["width"] <= 300
    finally:
        InteractiveShell.clear_instance()
