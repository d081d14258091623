"""Export the canvas as a PNG or SVG picture of the whole graph."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from dlstudio.atomic import atomic_path
from dlstudio.qt.editor.scene import GraphScene

MARGIN = 40.0


def _source_rect(scene: GraphScene) -> QRectF:
    rect = scene.items_rect()
    if rect.isNull():
        rect = QRectF(0, 0, 200, 100)
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def _render(scene: GraphScene, painter: QPainter, target: QRectF, source: QRectF) -> None:
    selected = scene.selectedItems()
    scene.clearSelection()  # a picture of the graph, not of the current selection
    scene.draw_grid = False
    cached = [(item, item.cacheMode()) for item in scene.node_items.values()]
    for item, _ in cached:  # draw vectors and text, not cached pixmaps
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        scene.draw_grid = True
        for item, mode in cached:
            item.setCacheMode(mode)
        for item in selected:
            item.setSelected(True)


def export_png(scene: GraphScene, path: str | Path, scale: float = 2.0) -> Path:
    source = _source_rect(scene)
    size = QSize(max(1, int(source.width() * scale)), max(1, int(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(scene.colors["background"])
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    _render(scene, painter, QRectF(0, 0, size.width(), size.height()), source)
    painter.end()
    path = Path(path)
    with atomic_path(path) as tmp:  # whole or not at all
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"could not write {path}")
    return path


def export_svg(scene: GraphScene, path: str | Path) -> Path:
    from PySide6.QtSvg import QSvgGenerator

    source = _source_rect(scene)
    path = Path(path)
    with atomic_path(path) as tmp:  # whole or not at all
        gen = QSvgGenerator()
        gen.setFileName(str(tmp))
        gen.setSize(QSize(int(source.width()), int(source.height())))
        gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
        gen.setTitle("DL Studio graph")
        painter = QPainter(gen)
        painter.fillRect(QRectF(0, 0, source.width(), source.height()), scene.colors["background"])
        _render(scene, painter, QRectF(0, 0, source.width(), source.height()), source)
        painter.end()
    return path



def render_image(scene: GraphScene, size: QSize, max_zoom: float = 2.0) -> QImage:
    """The whole graph drawn into an image of ``size``, centred on the canvas background,
    enlarged at most ``max_zoom`` times (thumbnails such as the gallery's)."""
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.colors["background"])
    source = _source_rect(scene)
    zoom = min(size.width() / source.width(), size.height() / source.height(), max_zoom)
    w, h = source.width() * zoom, source.height() * zoom
    target = QRectF((size.width() - w) / 2, (size.height() - h) / 2, w, h)
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                           | QPainter.RenderHint.SmoothPixmapTransform)
    _render(scene, painter, target, source)
    painter.end()
    return image
