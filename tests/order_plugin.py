"""pytest plugin loaded by the test command (``-p tests.order_plugin``): the longest files run first.

The test command runs two pytest-xdist workers with ``--dist loadfile`` (one file per worker at a time). By default
xdist queues the files by their number of tests, which put the browser tests (the longest files, one or two tests
each) last, so one worker finished minutes before the other. With ``--no-loadscope-reorder`` (in the pytest options
of pyproject.toml) xdist keeps the order set here: the browser tests first, then the chapters, then the unit tests,
which fill the gaps (longest processing time first). Within each group the collection order is kept.
"""

from __future__ import annotations

import pytest


def _rank(item: pytest.Item) -> int:
    if item.get_closest_marker("browser") is not None:
        return 0
    if item.nodeid.startswith("book/"):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the tests of one file keep their order and stay together
