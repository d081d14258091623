"""Pictures of the gallery's examples: each example's graph, rendered as the
canvas draws it (``editor.image_export``), cached on disk.

Rendering needs the layer catalog (Keras), so it waits until Keras is loaded,
then draws one example per event-loop turn, so the window stays responsive.
A picture is cached in the config folder under a key made from the file's
bytes and the theme, so it is redrawn only when the example or the theme
changes; a cached picture loads in about a millisecond.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from dlstudio import __version__

#: Thumbnail size in device-independent pixels (drawn at 2x for sharp HiDPI screens).
THUMB_SIZE = QSize(248, 150)
SCALE = 2


def cache_dir() -> Path:
    from dlstudio.qt.settings import config_dir

    return config_dir() / "gallery-thumbnails"


def cache_key(path: Path, dark: bool) -> str:
    digest = hashlib.sha1(Path(path).read_bytes())
    digest.update(f"{__version__}|{'dark' if dark else 'light'}|{THUMB_SIZE.width()}x{THUMB_SIZE.height()}".encode())
    return digest.hexdigest()[:20]


def render_example(path: Path, size: QSize = THUMB_SIZE, scale: int = SCALE) -> QImage:
    """The example's main graph drawn into an image of ``size`` (times ``scale``), centred.
    Needs the catalog (Keras loaded); raises ProjectError for a broken file."""
    from dlstudio.project import load_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.editor.image_export import render_image
    from dlstudio.qt.editor.scene import GraphScene

    document = Document(load_project(path))
    document.analyze_now()  # shapes on the wires, as on the canvas
    scene = GraphScene(document)
    try:
        wrap_columns(scene, size.width() / size.height())
        image = render_image(scene, QSize(size.width() * scale, size.height() * scale), max_zoom=1.5 * scale)
    finally:
        scene.detach()
        scene.deleteLater()
        document.deleteLater()
    image.setDevicePixelRatio(scale)
    return image


MIN_ROWS_TO_WRAP = 6  # shorter graphs stay as they are drawn
WRAP_GAIN = 1.3  # wrap only when the picture gets this much larger


def _row_groups(rows: list[float], k: int) -> list[list[float]]:
    per = -(-len(rows) // k)
    return [rows[i:i + per] for i in range(0, len(rows), per)]


def wrap_columns(scene, aspect: float, gap: float = 60.0) -> int:
    """Move the nodes of a tall graph (in this scene's graph, a throw-away copy) into
    side-by-side columns, cutting between rows, so the picture fills a frame of
    width/height ``aspect`` best. Returns the number of columns (1: unchanged)."""
    items = scene.node_items
    if len(items) < 4:
        return 1
    rects = {nid: item.sceneBoundingRect() for nid, item in items.items()}
    rows = sorted({round(r.top()) for r in rects.values()})
    left = min(r.left() for r in rects.values())
    width = max(r.right() for r in rects.values()) - left
    bottom = {y: max(r.bottom() for r in rects.values() if round(r.top()) == y) for y in rows}

    def fit(k: int) -> float:
        groups = _row_groups(rows, k)
        height = max(bottom[g[-1]] - g[0] for g in groups)
        total_w = len(groups) * width + (len(groups) - 1) * gap
        return min(aspect / total_w, 1.0 / height)  # the zoom that fits a frame of height 1

    if len(rows) < MIN_ROWS_TO_WRAP:
        return 1
    best = max(range(1, len(rows) // 2 + 1), key=lambda k: (round(fit(k), 12), -k))
    if best == 1 or fit(best) < WRAP_GAIN * fit(1):
        return 1
    groups = _row_groups(rows, best)
    shift = {y: (j * (width + gap), g[0] - rows[0]) for j, g in enumerate(groups) for y in g}
    graph = scene.graph
    column = {y: j for j, g in enumerate(groups) for y in g}
    for nid, r in rects.items():
        dx, dy = shift[round(r.top())]
        x, y = graph.node(nid).pos
        graph.move(nid, x + dx, y - dy)
    for eid, item in scene.edge_items.items():  # read column by column, like text: no wires across
        edge = graph.edge(eid)
        if column[round(rects[edge.src].top())] != column[round(rects[edge.dst].top())]:
            item.setVisible(False)
    return len(groups)


class ThumbnailCache(QObject):
    """Hands out example pictures: at once from memory or disk, else drawn later
    (``ready(path, image)`` when done, ``failed(path, message)`` when not)."""

    ready = Signal(object, QImage)
    failed = Signal(object, str)

    def __init__(self, dark: bool, parent: QObject | None = None):
        super().__init__(parent)
        self.dark = dark
        self._memory: dict[Path, QImage] = {}
        self._queue: list[Path] = []
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._render_next)

    def get(self, path: Path) -> QImage | None:
        """The picture if it is at hand (memory or disk cache); else None and it is queued."""
        path = Path(path)
        if path in self._memory:
            return self._memory[path]
        try:
            file = cache_dir() / f"{cache_key(path, self.dark)}.png"
        except OSError as exc:
            self.failed.emit(path, f"cannot read {path.name}: {exc.strerror or exc}")
            return None
        if file.is_file():
            image = QImage(str(file))
            if not image.isNull():
                image.setDevicePixelRatio(SCALE)
                self._memory[path] = image
                return image
        if path not in self._queue:
            self._queue.append(path)
        self._start()
        return None

    def set_dark(self, dark: bool) -> bool:
        """Switch to the pictures of the other theme; True when that changed anything."""
        if dark == self.dark:
            return False
        self.dark = dark
        self._memory.clear()
        self._queue.clear()
        return True

    def pending(self) -> int:
        return len(self._queue)

    def _start(self) -> None:
        from dlstudio.qt.keras_loader import keras_ready, loader

        if keras_ready():
            self._timer.start()
        else:
            loader().ready.connect(self._timer.start, Qt.ConnectionType.UniqueConnection)
            loader().start()

    def _render_next(self) -> None:
        if not self._queue:
            self._timer.stop()
            return
        path = self._queue.pop(0)
        try:
            image = render_example(path)
        except Exception as exc:  # noqa: BLE001 - a broken example shows a message on its card, never a traceback
            self.failed.emit(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        self._memory[path] = image
        try:
            folder = cache_dir()
            folder.mkdir(parents=True, exist_ok=True)
            image.save(str(folder / f"{cache_key(path, self.dark)}.png"), "PNG")
        except OSError:
            pass  # a read-only config folder: the picture is drawn again next time
        self.ready.emit(path, image)
