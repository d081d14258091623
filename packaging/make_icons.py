"""Render resources/icons/dlstudio.svg to the PNG sizes desktops and the bundle use.

    python packaging/make_icons.py

Writes resources/icons/dlstudio.png (256 px) and resources/icons/hicolor/SIZExSIZE/apps/dlstudio.png
(16 to 512 px, the freedesktop icon-theme layout that packaging/build.sh installs from).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise OSError(f"could not write {out}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts and painting
    svg = ICONS / "dlstudio.svg"
    render(svg, 256, ICONS / "dlstudio.png")
    for size in SIZES:
        render(svg, size, ICONS / "hicolor" / f"{size}x{size}" / "apps" / "dlstudio.png")
    print(f"wrote {len(SIZES) + 1} PNG icons under {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
