"""The palette's Blocks section: the built-in blocks and the user's own
(dlstudio.project.block_library). Drag one onto the canvas (mime type
:data:`BLOCK_MIME`, the block's key) or double-click it to add it; right-click to import
a block file, export one, or remove one of your own from the library.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QListWidget, QListWidgetItem, QMenu, QMessageBox

from dlstudio.errors import DLStudioError
from dlstudio.project.block_library import SUFFIX, import_block_file, library_blocks, write_block_file
from dlstudio.qt.settings import user_blocks_dir

BLOCK_MIME = "application/x-dlstudio-block"
KEY_ROLE = Qt.ItemDataRole.UserRole


def export_block_file(parent, name: str, description: str, fragment: dict, stem: str,
                      path: str | None = None) -> str | None:
    """Write a block file (asking where when ``path`` is None; the suffix is added); the path
    written, or None (cancelled, or refused with a message box)."""
    if path is None:
        path, _ = QFileDialog.getSaveFileName(parent, "Export block", str(Path.home() / f"{stem}{SUFFIX}"),
                                              f"DL Studio blocks (*{SUFFIX})")
        if not path:
            return None
    if not path.endswith(SUFFIX):
        path += SUFFIX
    try:
        write_block_file(path, name, description, fragment)
    except (DLStudioError, OSError) as exc:
        QMessageBox.critical(parent, "Cannot export block", str(exc))
        return None
    return path


class BlockList(QListWidget):
    add_requested = Signal(str)  # a block's key

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setToolTip("Blocks: groups of layers from the lectures and your own. Drag one onto the canvas.")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemDoubleClicked.connect(lambda item: self.add_requested.emit(item.data(KEY_ROLE)))
        self.blocks = {}
        self.problems: list[str] = []
        self.addItem("Loading blocks…")  # block files are checked against the layer catalog: once Keras is in
        self.item(0).setFlags(Qt.ItemFlag.NoItemFlags)

    def reload(self) -> None:
        """Read the built-in and the user's blocks (after Keras has loaded: the palette calls it)."""
        from dlstudio.qt.icons import category_icon

        found, self.problems = library_blocks(user_blocks_dir())
        self.blocks = {b.key: b for b in found}
        self.clear()
        for b in found:
            item = QListWidgetItem(category_icon("Merging"), b.name + ("" if b.builtin else "  (mine)"))
            item.setData(KEY_ROLE, b.key)
            layers = len(b.fragment["nodes"])
            params = ", ".join(b.fragment.get("params") or {}) or "none"
            item.setToolTip(f"<b>{b.name}</b> — {layers} layers<br/>{b.description}<br/><i>Settings: {params}</i>")
            self.addItem(item)

    def set_filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.count()):
            item = self.item(i)
            b = self.blocks.get(item.data(KEY_ROLE))
            if b is None:  # "Loading blocks…"
                continue
            hay = f"{b.name} {b.description} block".lower()
            item.setHidden(not all(w in hay for w in words))

    def mimeTypes(self) -> list[str]:
        return [BLOCK_MIME]

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        if items:
            mime.setData(BLOCK_MIME, items[0].data(KEY_ROLE).encode())
        return mime

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            key = item.data(KEY_ROLE)
            menu.addAction("Add to the Model", lambda: self.add_requested.emit(key))
            menu.addAction("Export Block File…", lambda: self.export(key))
            if key.startswith("user:"):
                menu.addAction("Remove from My Blocks", lambda: self.remove(key))
            menu.addSeparator()
        menu.addAction("Import Block File…", self.import_file)
        menu.popup(self.viewport().mapToGlobal(pos))
        self.menu = menu

    def import_file(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import block", "", f"DL Studio blocks (*{SUFFIX})")
            if not path:
                return False
        try:
            import_block_file(user_blocks_dir(), path)
        except (DLStudioError, OSError) as exc:
            QMessageBox.critical(self, "Cannot import block", str(exc))
            return False
        self.reload()
        return True

    def export(self, key: str, path: str | None = None) -> None:
        block = self.blocks[key]
        export_block_file(self, block.name, block.description, block.fragment, block.path.stem, path)

    def remove(self, key: str) -> None:
        block = self.blocks[key]
        answer = QMessageBox.question(self, "Remove block", f"Remove '{block.name}' from your blocks?")
        if answer == QMessageBox.StandardButton.Yes:
            block.path.unlink(missing_ok=True)
            self.reload()
