"""DL Studio: design, train and understand neural networks visually."""

import sys
from pathlib import Path

__version__ = "0.1.0"


def _resources() -> Path:
    """The source tree's (and the PyInstaller bundle's) ``resources/`` beside the package, or
    ``PREFIX/share/dlstudio/resources`` where ``pip install`` put them (pyproject data-files)."""
    beside = Path(__file__).resolve().parent.parent / "resources"
    installed = Path(sys.prefix) / "share" / "dlstudio" / "resources"
    return installed if not beside.is_dir() and installed.is_dir() else beside


#: Folder holding icons, themes and the example projects.
RESOURCES = _resources()
