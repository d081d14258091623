"""Guards against known-bad Qt bindings (see the pin in pyproject.toml)."""

import sys

from PySide6.QtGui import QColor


def test_bindings_do_not_leak_references_to_none():
    # PySide6 6.12.0 on Python 3.11 drops a reference to None on every call that
    # returns nothing; the app then aborts with "deallocating None" mid-session.
    colour = QColor(1, 2, 3)
    before = sys.getrefcount(None)
    for _ in range(1000):
        colour.setAlpha(1)
    assert before - sys.getrefcount(None) < 10
