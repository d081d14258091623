"""Entry point of the bundled app (PyInstaller runs this file): the same ``main`` as
the ``dlstudio`` command and ``python -m dlstudio``."""

import multiprocessing
import sys

from dlstudio.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the int8 converter runs in a spawned child (export/quantize.py)
    sys.exit(main())
