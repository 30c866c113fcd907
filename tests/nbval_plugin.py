"""pytest plugin loaded by the test command (``-p tests.nbval_plugin``): nbval policy of the book.

* stderr streams are not compared: library warnings differ between machines and versions; the stored
  notebooks are required to have no stderr at all (see tests/test_book_inventory.py), so nothing is hidden
  from the reader.
"""

from __future__ import annotations

from nbval.plugin import IPyNbFile


def pytest_collectstart(collector) -> None:
    if isinstance(collector, IPyNbFile):
        collector.skip_compare = (*collector.skip_compare, "stderr")
