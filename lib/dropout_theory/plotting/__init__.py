"""Figure helpers of the book (matplotlib), one module per part; plus the shared style in :mod:`.style`."""
