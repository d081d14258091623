"""DL Studio: design, train and understand neural networks visually."""

from pathlib import Path

__version__ = "0.1.0"

#: Folder holding icons, themes and the example projects.
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
