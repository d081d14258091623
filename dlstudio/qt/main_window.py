"""The main window: the canvas in the centre, dock panels around it, menus.

Its docks are built by :class:`WindowDocks` (window_docks.py), its actions, menus and
tool bar by :class:`WindowMenus` (window_menus.py), mixins of the window; here are the
open document, files, the Edit menu's slots, starting and stopping a training, and closing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QStackedWidget,
    QWidget,
)

from dlstudio import __version__
from dlstudio.project import Project, ProjectError, load_project, new_project
from dlstudio.qt.document import Document
from dlstudio.qt.editor.scene import GraphScene
from dlstudio.qt.editor.view import GraphView
from dlstudio.qt.keras_loader import catalog_ready, keras_ready, loader
from dlstudio.qt.window_docks import WindowDocks
from dlstudio.qt.window_menus import WindowMenus

FILE_FILTER = "DL Studio projects (*.dlsproj)"


class MainWindow(WindowDocks, WindowMenus, QMainWindow):
    def __init__(self, path: str | Path | None = None, parent: QWidget | None = None, *,
                 as_copy: bool = False):
        super().__init__(parent)
        from dlstudio.qt.settings import RecentFiles, app_settings

        self.settings = app_settings()
        self.recent = RecentFiles(self.settings)
        self.document: Document | None = None
        self.scene: GraphScene | None = None
        self.view: GraphView | None = None
        self.recovery = None
        self.previews = None  # the layer previews of the canvas (View > Layer Previews)
        self._pending_path = Path(path) if path else None
        self._pending_as_copy = as_copy  # examples open as untitled copies
        self._catalog_opened = False  # the project asked for at start has been opened
        self.setWindowTitle("DL Studio")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.canvas_stack = QStackedWidget(self)
        self.canvas_stack.setMinimumSize(360, 260)
        self.setCentralWidget(self.canvas_stack)
        self._build_status_bar()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.set_document(Document(new_project("Untitled")))
        self._restore_layout()
        self._say_opening()
        loader().catalog_loaded.connect(self._catalog_ready)
        loader().ready.connect(self._keras_ready)
        loader().failed.connect(self._keras_failed)
        loader().start()
        if catalog_ready():  # the disk cache had it: the editor does not wait for TensorFlow
            QTimer.singleShot(0, self._catalog_ready)
        if keras_ready():
            QTimer.singleShot(0, self._keras_ready)

    # ------------------------------------------------------------ building
    def _build_status_bar(self) -> None:
        from dlstudio.qt.notifications import NotificationArea

        bar = self.statusBar()
        self.loading = QWidget()
        self.loading_label = QLabel("Loading TensorFlow…")
        spin = QProgressBar()
        spin.setRange(0, 0)
        spin.setMaximumWidth(90)
        spin.setMaximumHeight(12)
        from PySide6.QtWidgets import QHBoxLayout

        lay = QHBoxLayout(self.loading)
        lay.setContentsMargins(0, 0, 8, 0)
        lay.addWidget(self.loading_label)
        lay.addWidget(spin)
        bar.addPermanentWidget(self.loading)
        self.zoom_label = QLabel("100%")
        self.zoom_label.setMinimumWidth(48)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addPermanentWidget(self.zoom_label)
        self.notification_area = NotificationArea()
        bar.addPermanentWidget(self.notification_area)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._hide_stray_tab_bars)

    def show_whole_graph(self) -> None:
        """Fit the whole graph to the view (every opened graph: issue 17)."""
        self.view.fit_all()

    # ------------------------------------------------------------ document
    def set_document(self, document: Document) -> None:
        from dlstudio.qt.graph_tabs import install_graph_tabs, release_graph_tabs
        from dlstudio.qt.recovery import RecoveryManager

        release_graph_tabs(self)  # a project with several graphs showed them as tabs
        old = self.document
        if self.recovery is not None:
            self.recovery.discard()
            self.recovery.stop()
        self.document = document
        document.setParent(self)  # it (and its analysis timer) ends with the window
        if self.scene is not None:
            self.scene.detach()
            self.scene.deleteLater()
        self.scene = GraphScene(document, self)
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.scene.selectionChanged.connect(self._insight_selection)  # before the Inspector raises itself
        self.scene.selectionChanged.connect(self._selection_changed)
        old_view = self.view
        self.view = GraphView(self.scene, self)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.view.insight_requested.connect(self.show_in_insight)
        from dlstudio.qt.editor.previews import PreviewController

        self.previews = PreviewController(self.scene, run_of=lambda: self.insight_panel.runs.run())
        self.previews.failed.connect(lambda text: self.statusBar().showMessage(f"Layer previews: {text}", 8000))
        self.previews.set_enabled(self.act_previews.isChecked())
        self.view.library_changed.connect(self.palette_panel.blocks.reload)
        self.view.block_dropped.connect(self.add_block)
        # swap the view inside a fixed central container, so the docks keep their sizes
        self.canvas_stack.addWidget(self.view)
        self.canvas_stack.setCurrentWidget(self.view)
        if old_view is not None:
            self.canvas_stack.removeWidget(old_view)
            old_view.deleteLater()

        for panel in (self.inspector, self.summary, self.problems, self.data_panel, self.insight_panel,
                      self.adversarial_panel):
            panel.set_document(document)
        self._training_set_document(document)
        self.gan_panel.set_document(document)
        self.text_panel.set_document(document)
        self.forecast_panel.set_document(document)
        self.autoencoder_panel.set_document(document)
        __import__("dlstudio.qt.panels.experiments.experiments_dock", fromlist=["x"]).experiments_set_document(
            self, document)  # the Experiments panel and the search badges on the canvas
        install_graph_tabs(self, document)  # a GAN's generator and discriminator: one tab each
        self._show_relevant_docks(document)

        self._rebind_undo(document)
        document.modified_changed.connect(self.setWindowModified)
        document.path_changed.connect(lambda _p: self._update_title())
        self.setWindowModified(document.is_modified())
        self._update_title()
        self.recovery = RecoveryManager(document)
        if old is not None:
            if not self.training_panel.is_running():  # the last project's messages are not this one's
                self.notification_area.clear_shown()
            old.deleteLater()
        QTimer.singleShot(0, self.show_whole_graph)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — DL Studio")

    def _selection_changed(self) -> None:
        blocks = self.scene.selected_block_ids()
        ids = self.scene.selected_node_ids()
        if len(blocks) == 1 and set(ids) == set(self.document.graph.block(blocks[0]).nodes):
            self.inspector.set_block(blocks[0])  # one collapsed block: its settings
            self.inspector_dock.raise_()
            return
        self.inspector.set_node(ids[0] if len(ids) == 1 else None)
        if len(ids) == 1:
            self.inspector_dock.raise_()

    def _say_opening(self) -> None:
        """An empty canvas whose project waits for the layer catalog (the first launch: it comes
        with TensorFlow) says so, instead of inviting to drag a first layer."""
        if self._pending_path is not None and self.view is not None:
            self.view.empty_text = (f"Opening {self._pending_path.stem}\u2026\n"
                                    "The layers are read from Keras on the first launch.")
            self.view.viewport().update()

    def _catalog_ready(self) -> None:
        """The layer catalog is at hand (from the disk cache, or with Keras): open the project
        asked for at start and offer unsaved work back; Keras may still be loading."""
        if self._catalog_opened:
            return
        self._catalog_opened = True
        if self._pending_path is not None:
            path, self._pending_path = self._pending_path, None
            if self._pending_as_copy:
                self._open_copy(path)
            else:
                self.open_path(path)
        from dlstudio.qt.editor.view import EMPTY_HINT

        self.view.empty_text = EMPTY_HINT  # opened (a new canvas), or refused with a message
        QTimer.singleShot(0, self.offer_recovery)

    def _keras_ready(self) -> None:
        self.loading.hide()
        self.statusBar().showMessage(f"Ready — Keras on {_backend()}", 4000)
        self._catalog_ready()
        self.scene._annotations_changed()

    def editor_is_ready(self) -> bool:
        """The palette is filled and the opened graph is drawn with every shape (for
        benchmarks/startup.py's editor_ready_s)."""
        analysis = self.document.analysis
        return (self._catalog_opened and self._pending_path is None and not self.palette_panel.is_loading()
                and analysis is not None and not analysis.pending)

    def offer_recovery(self) -> bool:
        """After a crash or kill, offer the newest autosaved project back."""
        from dlstudio.qt.recovery import pending_recoveries

        entries = pending_recoveries()
        if not entries:
            return False
        entry = entries[0]
        answer = QMessageBox.question(
            self, "Restore unsaved work?",
            f"DL Studio closed unexpectedly while “{entry.title}” had unsaved changes.\n\n"
            f"Restore the version autosaved at {entry.time}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Discard:
            entry.discard()
            return False
        if answer != QMessageBox.StandardButton.Yes:
            return False  # offered again at the next launch
        return self.restore(entry)

    def restore(self, entry) -> bool:
        try:
            project = entry.load()
        except ProjectError as exc:
            QMessageBox.critical(self, "Cannot restore", str(exc))
            return False
        document = Document(project)
        document.undo_stack.resetClean()  # restored work is unsaved work
        self.set_document(document)
        self.recovery.adopt(entry)
        self.statusBar().showMessage(f"Restored “{entry.title}”: save it to keep it", 8000)
        return True

    def _keras_failed(self, message: str) -> None:
        self.loading_label.setText("TensorFlow failed to load")
        from dlstudio.qt.notifications import notifications

        notifications().notify(f"Keras could not be loaded: {message}", "error")

    # ----------------------------------------------------------------- files
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False means the user cancelled."""
        if self.document is None or not self.document.is_modified():
            return True
        box = QMessageBox.warning(
            self, "Unsaved changes", f"Save the changes to “{self.document.title}” before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if box == QMessageBox.StandardButton.Save:
            return self.save()
        return box == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if self.maybe_save():
            self.set_document(Document(new_project("Untitled")))

    def show_gallery(self):
        """The Gallery window of lecture examples (built on first use)."""
        return __import__("dlstudio.qt.gallery", fromlist=["show_gallery"]).show_gallery(self)

    def show_guide(self, section: str | None = None):
        """Help > User Guide (F1): the bundled guide, at ``section`` when given."""
        from dlstudio.qt.help_window import HelpWindow

        if getattr(self, "help_window", None) is None:
            self.help_window = HelpWindow(self.open_example, self)
        self.help_window.show()
        self.help_window.raise_()
        if section:
            self.help_window.show_section(section)
        return self.help_window

    def show_shortcuts(self):
        """Help > Keyboard Shortcuts: every shortcut, read from the window's actions."""
        from dlstudio.qt.help_window import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    def open_example(self, path: Path) -> None:
        if self.maybe_save():
            self._open_copy(path)

    def _open_copy(self, path: Path) -> None:
        """An example opens as a new, untitled copy, so the original stays intact."""
        project = self._load(path)
        if project is not None:
            project.path = None
            self.set_document(Document(project))

    def open_dialog(self) -> None:
        start = str(self.recent.paths()[0].parent) if self.recent.paths() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, FILE_FILTER)
        if path and self.maybe_save():
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        if not catalog_ready():
            self._pending_path = Path(path)
            self._say_opening()
            return False
        project = self._load(path)
        if project is None:
            return False
        self.set_document(Document(project))
        self.recent.add(project.path)
        return True

    def _load(self, path: str | Path) -> Project | None:
        try:
            return load_project(path)
        except ProjectError as exc:
            QMessageBox.critical(self, "Cannot open project", str(exc))
            self.recent.remove(Path(path))
            return None

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggested = str(self.document.path or Path.home() / f"{self.document.title}.dlsproj")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", suggested, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".dlsproj"):
            path += ".dlsproj"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            saved = self.document.save(path)
        except (ProjectError, OSError) as exc:
            QMessageBox.critical(self, "Cannot save project", str(exc))
            return False
        self.recovery.discard()
        self.recent.add(saved)
        self.statusBar().showMessage(f"Saved {saved}", 4000)
        return True

    def close_project(self) -> None:
        if self.maybe_save():
            self.recovery.discard()
            self.set_document(Document(new_project("Untitled")))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import Keras model", str(Path.home()),
                                              "Keras models (*.keras *.h5)")
        if path and self.maybe_save():
            self.import_model(path)

    def import_model(self, path: str | Path) -> bool:
        from dlstudio.compile.import_process import import_model_isolated
        from dlstudio.compile.importer import ModelImportError

        try:  # in a child process with time and memory limits (a damaged file cannot hang the app)
            graph, _weights = import_model_isolated(path)
        except ModelImportError as exc:
            QMessageBox.critical(self, "Cannot import model", str(exc))
            return False
        project = new_project(Path(path).stem)
        project.graph = graph
        project.notes = f"Imported from {Path(path).name}."
        self.set_document(Document(project))
        return True

    def export_image(self, kind: str) -> None:
        from dlstudio.qt.editor.image_export import export_png, export_svg

        suggested = str(Path.home() / f"{self.document.title}.{kind}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export graph as {kind.upper()}", suggested,
                                              f"{kind.upper()} image (*.{kind})")
        if not path:
            return
        try:
            (export_png if kind == "png" else export_svg)(self.scene, path)
        except OSError as exc:
            QMessageBox.critical(self, "Cannot export", str(exc))
            return
        self.statusBar().showMessage(f"Exported {path}", 4000)

    # ------------------------------------------------------------------ edit
    # (the canvas' edits live in dlstudio.qt.editor.canvas_edit; the menus and the
    # context menus call the same methods)
    def copy(self) -> None:
        self.view.copy_selection()

    def cut(self) -> None:
        self.view.cut_selection()

    def paste(self) -> None:
        self.view.paste()

    def duplicate(self) -> None:
        self.view.duplicate_selection()

    def select_all(self) -> None:
        self.view.select_all()

    def auto_layout(self) -> None:
        self.view.auto_layout()

    def add_block(self, key: str, at=None) -> str | None:
        """Put the library block ``key`` on the canvas (the palette's Blocks section)."""
        from dlstudio.errors import DLStudioError
        from dlstudio.project.block_library import find_block
        from dlstudio.qt.settings import user_blocks_dir

        try:
            block = find_block(key, user_blocks_dir())
        except DLStudioError as exc:
            QMessageBox.critical(self, "Cannot add block", str(exc))
            return None
        return self.view.add_library_block(block, at)

    def group(self) -> None:
        self.view.group_selection()

    def ungroup(self) -> None:
        self.view.ungroup()

    def set_previews(self, on: bool) -> None:
        """View > Layer Previews: a picture of each layer's output beside it."""
        if self.act_previews.isChecked() != on:
            self.act_previews.setChecked(on)  # re-enters through toggled
            return
        self.training_panel.set_weights_wanted(on, "previews")
        if self.previews is not None:
            self.previews.set_enabled(on)

    def show_in_insight(self, node_id: str) -> None:
        """A layer's "Show in Insight": the Insight panel in front, on that layer."""
        if not self.document.graph.has_node(node_id):
            return
        self.insight_dock.show()
        self.insight_dock.raise_()
        self.insight_panel.show_layer(self.document.graph.node(node_id).name)

    def _toggle_labels(self, on: bool) -> None:
        self.scene.show_edge_labels = on
        self.scene.update()

    def _set_theme(self, mode: str) -> None:
        from dlstudio.qt.theme import apply_theme

        apply_theme(QApplication.instance(), mode)
        self.scene.update_colors()

    def about(self) -> None:
        QMessageBox.about(self, "About DL Studio",
                          f"<h3>DL Studio {__version__}</h3><p>Design, train and understand neural "
                          f"networks visually.</p><p>Keras on {_backend() if keras_ready() else '…'}</p>")

    # ------------------------------------------------------------ lifecycle
    def reset_layout(self) -> None:
        """View > Reset Layout: every panel where a new window puts it, at its size."""
        for dock in self.findChildren(QDockWidget):
            dock.setFloating(False)
        self.restoreState(self._default_state)
        self._show_relevant_docks(self.document)
        self._default_dock_sizes()

    def _restore_layout(self) -> None:
        self._default_state = self.saveState()  # the docks as built: what Reset Layout goes back to
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 880)
        if state is None or not self.restoreState(state):
            QTimer.singleShot(0, self._default_dock_sizes)  # once the window has its size

    def closeEvent(self, event) -> None:
        if not self._training_may_close():
            event.ignore()
            return
        if not self.maybe_save():
            event.ignore()
            return
        self._stop_training_for_close()
        if self.recovery is not None:
            self.recovery.discard()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        event.accept()

    # ------------------------------------------------------------- training
    # Train (F5), Stop and Continue (a GAN project trains in the GAN panel) and stopping a
    # training cleanly when the window closes; the docks and the Model menu are the mixins'.
    def _show_training(self) -> None:
        from dlstudio.qt.window_docks import BOTTOM_HEIGHT

        dock = self.training_dock
        if self.projector_panel.follow_check.isChecked() and not self.projector_dock.visibleRegion().isEmpty():
            return  # the user watches the Projector follow the training: it stays in front
        self._raise_dock(dock)
        if not dock.isFloating() and dock.height() < BOTTOM_HEIGHT - 20:  # squeezed by hand: room for the plots
            self.resizeDocks([dock], [BOTTOM_HEIGHT], Qt.Orientation.Vertical)

    def train(self) -> bool:
        from dlstudio.qt.panels.gan.gan_panel import train_in_window

        gan = train_in_window(self)  # a GAN project trains in the GAN panel
        if gan is not None:
            return gan
        self._show_training()
        return self.training_panel.train()

    def continue_training(self, run_path=None) -> bool:
        from dlstudio.qt.panels.gan.gan_panel import train_in_window

        gan = train_in_window(self, run_path, continuing=True)
        if gan is not None:
            return gan
        self._show_training()
        return self.training_panel.continue_training(run_path)

    def stop_training(self) -> None:
        self.training_panel.stop()
        self.gan_panel.stop()

    def _training_running_changed(self, running: bool) -> None:
        self.act_train.setEnabled(not running)
        self.act_continue_training.setEnabled(not running)
        self.act_stop_training.setEnabled(running)
        if not running:
            self.runs_panel.busy_run = None
            self.runs_panel.refresh()

    def _runs_busy(self, path: str) -> None:
        self.runs_panel.busy_run = Path(path)
        self.runs_panel.refresh()

    def _training_may_close(self) -> bool:
        if not self.training_panel.is_running():
            return True
        answer = QMessageBox.question(
            self, "Training is running",
            "A training is running. Stop it and close?\n\nThe run is saved with the epochs done so far.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _stop_training_for_close(self) -> None:
        if self.training_panel.is_running():
            self.statusBar().showMessage("Stopping the training…")
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.training_panel.stop_and_wait(120_000)
            finally:
                QApplication.restoreOverrideCursor()

def _backend() -> str:
    from dlstudio.backend import backend_name

    return backend_name()


