"""Right-click on any plot: Copy Image, Save as PNG…, Save as SVG….

Every plot of the app (training curves, runs compared, evaluation curves, feature-map
bars, the projector, ...) gets the same menu through :func:`install_plot_menu`; the files
are written whole or not at all (:func:`dlstudio.atomic.atomic_path`). pyqtgraph's
own menu stays off: it offers axis and mouse settings a reader of a plot does not need.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from dlstudio.atomic import atomic_path


def widget_image(widget: QWidget) -> QImage:
    """The widget as it is drawn now, at the screen's pixel density."""
    return widget.grab().toImage()


def save_png(widget: QWidget, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        if not widget_image(widget).save(str(tmp), "PNG"):
            raise OSError(f"could not write {path}")
    return path


def save_svg(widget: QWidget, path: str | Path, title: str = "DL Studio plot") -> Path:
    from PySide6.QtSvg import QSvgGenerator

    path = Path(path)
    size = widget.size()
    with atomic_path(path) as tmp:
        gen = QSvgGenerator()
        gen.setFileName(str(tmp))
        gen.setSize(QSize(size.width(), size.height()))
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setTitle(title)
        painter = QPainter(gen)
        widget.render(painter)
        painter.end()
    return path


def copy_image(widget: QWidget) -> None:
    QGuiApplication.clipboard().setImage(widget_image(widget))


def _file_stem(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").lower() or "plot"


def plot_menu(widget: QWidget, title: str) -> QMenu:
    menu = QMenu(widget)
    menu.addAction("Copy Image", lambda: copy_image(widget))
    menu.addAction("Save Image as PNG…", lambda: _save(widget, title, "png"))
    menu.addAction("Save Image as SVG…", lambda: _save(widget, title, "svg"))
    return menu


def _save(widget: QWidget, title: str, kind: str) -> None:
    suggested = str(Path.home() / f"{_file_stem(title)}.{kind}")
    path, _ = QFileDialog.getSaveFileName(widget, f"Save {title} as {kind.upper()}", suggested,
                                          f"{kind.upper()} image (*.{kind})")
    if not path:
        return
    if not path.lower().endswith(f".{kind}"):
        path += f".{kind}"
    try:
        (save_png if kind == "png" else save_svg)(widget, path)
    except OSError as exc:
        QMessageBox.critical(widget, "Cannot save the image", str(exc))


def install_plot_menu(widget: QWidget, title: str) -> None:
    """Right-click on ``widget`` (a pyqtgraph PlotWidget or GraphicsLayoutWidget) offers to
    copy it or save it as PNG or SVG; the last menu shown is kept as ``widget.plot_menu``."""
    widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show(pos: QPoint) -> None:
        menu = plot_menu(widget, title)
        widget.plot_menu = menu
        menu.popup(widget.mapToGlobal(pos))

    widget.customContextMenuRequested.connect(show)
