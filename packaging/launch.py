"""Entry point of the bundled app (PyInstaller runs this file): the same ``main`` as
the ``dlstudio`` command and ``python -m dlstudio``."""

import sys

from dlstudio.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
