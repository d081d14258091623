"""Marks on the canvas for experiments: a small badge on every node with a searched parameter (or
in a searched chain), kept in step with the project's search space and the graph; its tooltip
lists what is searched. The badges are child items of the editor's node items, so they move
with them and go with them; the editor's own items are not changed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from dlstudio.qt.editor.items import HEADER_H, NODE_W

BADGE_COLOR = "#8250df"


class SearchBadge(QGraphicsItem):
    """A violet "S" at the left end of a node's header."""

    RADIUS = 8.0

    def __init__(self, parent: QGraphicsItem, tooltip: str):
        super().__init__(parent)
        self.setPos(QPointF(NODE_W - 34.0, HEADER_H / 2))
        self.setToolTip(tooltip)
        self.setZValue(5)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("white"), 1.2))
        painter.setBrush(QColor(BADGE_COLOR))
        painter.drawEllipse(QPointF(0, 0), self.RADIUS, self.RADIUS)
        font = QFont()
        font.setBold(True)
        font.setPointSizeF(7.5)
        painter.setFont(font)
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "S")


def searched_text(search: Any, node_id: str, graph: Any) -> str:
    """What the search varies on a node (the badge's tooltip)."""
    lines = []
    for p in search.params:
        if p.node != node_id:
            continue
        if p.kind == "choice":
            what = ", ".join(map(repr, p.choices or []))
        else:
            what = f"{p.low:g} … {p.high:g}" + (" (log)" if p.log else "") + (f" step {p.step:g}" if p.step else "")
        lines.append(f"{p.param}: {what}" + (f"  [{p.name}]" if p.name else ""))
    for o in search.optional:
        if node_id in o.nodes:
            lines.append(f"switched on or off ({o.name})")
    for r in search.repeat:
        if node_id in r.nodes:
            lines.append(f"repeated {r.min}–{r.max} times ({r.name})")
    return "Searched:\n" + "\n".join(lines)


class SearchBadges:
    """Keeps a :class:`SearchBadge` on each searched node of ``scene`` (a GraphScene)."""

    def __init__(self, scene: Any, document: Any):
        self.scene, self.document = scene, document
        self.badges: dict[str, SearchBadge] = {}
        document.settings_changed.connect(self._settings_changed)
        graph = document.graph
        self.links = [(graph.node_added, self._graph_changed), (graph.node_removed, self._graph_changed)]
        for signal, slot in self.links:
            signal.connect(slot)
        self.update()

    def detach(self) -> None:
        try:
            self.document.settings_changed.disconnect(self._settings_changed)
        except (RuntimeError, TypeError):
            pass
        for signal, slot in self.links:
            signal.disconnect(slot)
        self.links = []

    def _settings_changed(self, name: str) -> None:
        if name == "search":
            self.update()

    def _graph_changed(self, *_args) -> None:
        self.update()

    def update(self) -> None:
        search = self.document.project.search
        wanted = search.searched_nodes() if search is not None else set()
        for node_id in list(self.badges):
            badge = self.badges.pop(node_id)
            if badge.scene() is not None:
                badge.scene().removeItem(badge)
        for node_id in wanted:
            item = self.scene.node_items.get(node_id)
            if item is not None:
                self.badges[node_id] = SearchBadge(item, searched_text(search, node_id, self.document.graph))
