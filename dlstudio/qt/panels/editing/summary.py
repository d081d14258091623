"""The model summary: one row per layer, like Keras' ``model.summary()``.

Layer name, type, output shape, parameter and multiply-accumulate counts in
topological order, with the totals below; clicking a row asks the editor to
select that layer. Also the one home of the number formats the panels share.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHeaderView, QLabel, QStackedWidget, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget,
)
from shiboken6 import isValid

from dlstudio.compile.infer import Analysis, fmt_shape
from dlstudio.qt.icons import layer_icon, severity_icon
from dlstudio.qt.keras_loader import catalog_ready, loader
from dlstudio.qt.signals import rebind

NODE_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs")


# ------------------------------------------------------------------ formats
def format_count(n: int | None) -> str:
    """``25120`` -> ``25,120``; None -> an em dash."""
    return "\u2014" if n is None else f"{int(n):,}"


def format_si(n: float | None, unit: str = "") -> str:
    """A short human number: ``1234567`` -> ``1.23 M`` (K, M, G, T)."""
    if n is None:
        return "\u2014"
    n = float(n)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            v = n / factor
            digits = 2 if abs(v) < 10 else 1 if abs(v) < 100 else 0
            return f"{v:.{digits}f} {prefix}{unit}"
    return f"{int(n)} {unit}".strip() if float(n).is_integer() else f"{n:.3g} {unit}".strip()


def format_macs(n: int | None) -> str:
    return format_si(n)


def format_bytes(n: int | None) -> str:
    """Bytes in binary units: ``100352`` -> ``98.0 KiB``."""
    if n is None:
        return "\u2014"
    n = float(n)
    for factor, prefix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.1f} {prefix}"
    return f"{int(n)} B"


def output_shapes_text(shapes) -> str:
    """All output shapes of a node, comma-separated; "?" when unknown."""
    if not shapes:
        return "?"
    return ", ".join(fmt_shape(s) for s in shapes)


# -------------------------------------------------------------------- panel
class _NumberItem(QTreeWidgetItem):
    """Sorts the numeric columns by value, the others as text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else 0
        a, b = self.data(col, Qt.ItemDataRole.UserRole), other.data(col, Qt.ItemDataRole.UserRole)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return self.text(col).lower() < other.text(col).lower()


class SummaryPanel(QWidget):
    """Per-layer table with totals, following ``document.analysis_changed``.

    Signals:
        layer_activated(str): a row was clicked (the node id); the panel also
            emits ``document.selection_requested([node_id])``.
    """

    layer_activated = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("SummaryPanel")
        self.document = None
        self._rows: dict[str, QTreeWidgetItem] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack, 1)

        self.table = QTreeWidget(self)
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFrameShape(QFrame.Shape.NoFrame)
        self.table.setSortingEnabled(False)
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        for col in (3, 4):
            self.table.headerItem().setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.headerItem().setToolTip(4, "Multiply-accumulate operations per sample")
        self.table.itemClicked.connect(self._on_clicked)
        self.table.itemActivated.connect(self._on_clicked)

        self._placeholder = QLabel(self)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._placeholder.setContentsMargins(12, 12, 12, 12)

        self.stack.addWidget(self._placeholder)
        self.stack.addWidget(self.table)

        # totals under the table
        self._totals = QFrame(self)
        self._totals.setFrameShape(QFrame.Shape.NoFrame)
        grid = QGridLayout(self._totals)
        grid.setContentsMargins(10, 6, 10, 8)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        self._total_labels: dict[str, QLabel] = {}
        entries = (("total", "Total params"), ("trainable", "Trainable"),
                   ("frozen", "Non-trainable"), ("macs", "MACs / sample"))
        for i, (key, text) in enumerate(entries):
            row, col = divmod(i, 2)
            name = QLabel(text, self._totals)
            name.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            value = QLabel("\u2014", self._totals)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            font = QFont(value.font())
            font.setBold(key == "total")
            value.setFont(font)
            grid.addWidget(name, row, col * 2)
            grid.addWidget(value, row, col * 2 + 1)
            self._total_labels[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(self._totals)

        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        loader().catalog_loaded.connect(self._on_ready)
        self.set_document(document)

    # ------------------------------------------------------------ public API
    def set_document(self, document) -> None:
        """Follow another document (the panel starts with the one it was given)."""
        rebind(self.document, None, ("analysis_changed", self.set_analysis))
        self.document = document
        self.clear()
        if document is None:
            return
        document.analysis_changed.connect(self.set_analysis)
        if document.analysis is not None:
            self.set_analysis(document.analysis)

    def clear(self) -> None:
        self.table.clear()
        self._rows.clear()
        self._placeholder.setText("Loading layers\u2026" if not catalog_ready()
                                  else "Add layers to see the model summary.")
        self.stack.setCurrentWidget(self._placeholder)
        for label in self._total_labels.values():
            label.setText("\u2014")

    def node_ids(self) -> list[str]:
        """The node ids in table order."""
        return [self.table.topLevelItem(i).data(0, NODE_ROLE) for i in range(self.table.topLevelItemCount())]

    def row_of(self, node_id: str) -> QTreeWidgetItem | None:
        return self._rows.get(node_id)

    def total_text(self, key: str) -> str:
        """The text shown for a total: "total", "trainable", "frozen" or "macs"."""
        return self._total_labels[key].text()

    def set_analysis(self, analysis: Analysis | None) -> None:
        if not isValid(self):
            return
        if analysis is None or self.document is None:
            self.clear()
            return
        graph = self.document.graph
        selected = self.table.currentItem().data(0, NODE_ROLE) if self.table.currentItem() else None
        scroll = self.table.verticalScrollBar().value()
        self.table.setUpdatesEnabled(False)
        self.table.clear()
        self._rows.clear()
        order = list(analysis.order) + [nid for nid in analysis.nodes if nid not in analysis.order]
        problem_nodes: dict[str, str] = {}
        for p in analysis.problems:  # the first node of a problem is the one at fault
            if p.node_ids and problem_nodes.get(p.node_ids[0]) != "error":
                problem_nodes[p.node_ids[0]] = p.severity
        for nid in order:
            if not graph.has_node(nid):
                continue
            node = graph.node(nid)
            info = analysis.nodes.get(nid)
            shapes = info.output_shapes if info else ()
            params = info.params if info else 0
            trainable = info.trainable_params if info else 0
            macs = info.macs if info else 0
            pending = info is not None and info.pending
            item = _NumberItem([node.name, node.type, "\u2026" if pending else output_shapes_text(shapes),
                                format_count(params), format_count(macs)])
            item.setData(0, NODE_ROLE, nid)
            item.setData(3, Qt.ItemDataRole.UserRole, params)
            item.setData(4, Qt.ItemDataRole.UserRole, macs)
            severity = problem_nodes.get(nid)
            if severity:
                item.setIcon(0, severity_icon(severity))
                msgs = [str(p) for p in analysis.problems if p.node_ids and p.node_ids[0] == nid]
                item.setToolTip(0, "\n".join(msgs))
            else:
                try:
                    from dlstudio.catalog import get_spec

                    item.setIcon(0, layer_icon(node.type, get_spec(node.type).category))
                except Exception:  # unknown type: reported as a problem anyway
                    pass
                item.setToolTip(0, node.name)
            item.setFont(2, self._mono)
            for col in (3, 4):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(3, f"{format_count(params)} parameters: {format_count(trainable)} trainable, "
                               f"{format_count(params - trainable)} non-trainable")
            item.setToolTip(4, f"{format_count(macs)} multiply-accumulates per sample ({format_macs(macs)})")
            if not shapes or all(s is None for s in shapes):
                for col in range(len(COLUMNS)):
                    item.setForeground(col, self.palette().brush(QPalette.ColorRole.PlaceholderText))
            self.table.addTopLevelItem(item)
            self._rows[nid] = item
        self.table.setUpdatesEnabled(True)
        if selected in self._rows:
            self.table.setCurrentItem(self._rows[selected])
        self.table.verticalScrollBar().setValue(scroll)

        if analysis.pending:  # some layers wait for Keras: no total yet
            for label in self._total_labels.values():
                label.setText("\u2026")
                label.setToolTip("Waiting for TensorFlow to load: some layers have not been seen before")
        else:
            self._show_totals(analysis)
        if self._rows:
            self.stack.setCurrentWidget(self.table)
        else:
            self._placeholder.setText("Add layers to see the model summary.")
            self.stack.setCurrentWidget(self._placeholder)

    def _show_totals(self, analysis: Analysis) -> None:
        total, trainable = analysis.total_params, analysis.trainable_params
        self._total_labels["total"].setText(f"{format_count(total)}  ({format_bytes(4 * total)})")
        self._total_labels["total"].setToolTip("Size at 4 bytes (float32) per parameter")
        self._total_labels["trainable"].setText(format_count(trainable))
        self._total_labels["frozen"].setText(format_count(total - trainable))
        self._total_labels["macs"].setText(format_macs(analysis.total_macs))
        self._total_labels["macs"].setToolTip(f"{format_count(analysis.total_macs)} multiply-accumulates per sample")
        self._total_labels["trainable"].setToolTip("")
        self._total_labels["frozen"].setToolTip("")

    # ------------------------------------------------------------- internals
    def _on_ready(self) -> None:
        if isValid(self) and not self._rows:
            self.clear()

    def _on_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        nid = item.data(0, NODE_ROLE)
        if not nid:
            return
        if self.document is not None:
            self.document.selection_requested.emit([nid])
        self.layer_activated.emit(nid)
