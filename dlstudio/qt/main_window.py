"""The main window: the canvas in the centre, dock panels around it, menus."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QStackedWidget,
    QWidget,
)

from dlstudio import RESOURCES, __version__
from dlstudio.project import Project, ProjectError, load_project, new_project
from dlstudio.qt.document import Document
from dlstudio.qt.editor.commands import MoveNodesCommand, PasteCommand, RemoveItemsCommand, fragment_of
from dlstudio.qt.editor.scene import GraphScene
from dlstudio.qt.editor.view import GraphView
from dlstudio.qt.keras_loader import keras_ready, loader

FRAGMENT_MIME = "application/x-dlstudio-fragment"
EXAMPLES = RESOURCES / "examples"
FILE_FILTER = "DL Studio projects (*.dlsproj)"


class MainWindow(QMainWindow):
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
        self._pending_path = Path(path) if path else None
        self._pending_as_copy = as_copy  # examples open as untitled copies
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
        loader().ready.connect(self._keras_ready)
        loader().failed.connect(self._keras_failed)
        loader().start()
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

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        """The panels are made once and follow whichever document is open."""
        from dlstudio.qt.panels.inspector import InspectorPanel
        from dlstudio.qt.panels.palette import PalettePanel
        from dlstudio.qt.panels.problems import ProblemsPanel
        from dlstudio.qt.panels.summary import SummaryPanel

        self.palette_dock = self._dock("Layers", "palette", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", "inspector", Qt.DockWidgetArea.RightDockWidgetArea)
        self.summary_dock = self._dock("Summary", "summary", Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", "problems", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.palette_panel = PalettePanel()
        self.palette_panel.add_requested.connect(lambda t: self.view.add_layer(t))
        self.palette_dock.setWidget(self.palette_panel)
        self.inspector = InspectorPanel(None)
        self.inspector_dock.setWidget(self.inspector)
        self.summary = SummaryPanel(None)
        self.summary_dock.setWidget(self.summary)
        self.problems = ProblemsPanel(None)
        self.problems.count_changed.connect(
            lambda n: self.problems_dock.setWindowTitle(f"Problems ({n})" if n else "Problems"))
        self.problems_dock.setWidget(self.problems)
        self.tabifyDockWidget(self.inspector_dock, self.summary_dock)
        self.inspector_dock.raise_()
        self._build_training()
        self._build_data_dock()
        self._build_insight_dock()
        self._build_adversarial_dock()
        __import__("dlstudio.qt.panels.autoencoder.autoencoder_panel", fromlist=["x"]).build_autoencoder_dock(self)
        self._build_evaluation_docks()
        __import__("dlstudio.qt.panels.gan.gan_panel", fromlist=["build_gan_dock"]).build_gan_dock(self)  # GAN dock
        __import__("dlstudio.qt.panels.sequences.sequence_docks", fromlist=["x"]).build_sequence_docks(self)  # Text, Forecast
        for dock in (self.evaluation_dock, self.predict_dock, self.gan_dock):
            _scroll_when_small(dock)

    def _show_relevant_docks(self, document: Document) -> None:
        """The docks that serve this kind of project (dlstudio/qt/relevance.py)."""
        from dlstudio.qt.relevance import show_relevant_docks

        show_relevant_docks(self, document)

    def _build_data_dock(self) -> None:
        """The dataset panel, a tab beside Problems at the bottom."""
        from dlstudio.qt.panels.data.data_panel import DataPanel

        self.data_dock = self._dock("Data", "data", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.data_panel = DataPanel(None)
        self.data_dock.setWidget(self.data_panel)
        self.tabifyDockWidget(self.problems_dock, self.data_dock)
        self.problems_dock.raise_()

    def _build_insight_dock(self) -> None:
        """Feature maps, filters, saliency and the convolution playground, a tab beside the Inspector."""
        from dlstudio.qt.panels.insight.insight_panel import InsightPanel

        self.insight_dock = self._dock("Insight", "insight", Qt.DockWidgetArea.RightDockWidgetArea)
        self.insight_panel = InsightPanel(None)
        self.insight_dock.setWidget(self.insight_panel)
        self.tabifyDockWidget(self.summary_dock, self.insight_dock)
        self.inspector_dock.raise_()

    def _insight_selection(self) -> None:
        """A layer selected on the canvas is shown in the Insight panel (kept in front if it was)."""
        ids = self.scene.selected_node_ids()
        if len(ids) != 1:
            return
        in_front = not self.insight_dock.visibleRegion().isEmpty()
        self.insight_panel.show_layer(self.document.graph.node(ids[0]).name)
        if in_front:  # the Inspector raises itself on a selection; keep the panel being looked at
            QTimer.singleShot(0, self.insight_dock.raise_)

    def _hide_stray_tab_bars(self) -> None:
        """Work around Qt 6.11: with two tabbed dock groups, QMainWindow leaves a stale
        copy of a dock tab bar where it first laid the group out (over another panel).
        A real dock tab bar sits right against a visible dock; hide those that do not."""
        from PySide6.QtWidgets import QTabBar

        docks = [d.geometry() for d in self.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            g = bar.geometry()
            if bar.isVisible() and not any(
                    min(abs(g.top() - d.bottom()), abs(g.bottom() - d.top())) <= 3
                    and g.left() < d.right() and d.left() < g.right() for d in docks):
                bar.hide()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._hide_stray_tab_bars)

    def _default_dock_sizes(self) -> None:
        # the right-hand tabs (inspector, summary, settings, insight, adversarial) need room for their titles
        self.resizeDocks([self.palette_dock, self.inspector_dock], [240, 450], Qt.Orientation.Horizontal)
        self.resizeDocks([self.problems_dock], [190], Qt.Orientation.Vertical)  # room for the Data tab
        QTimer.singleShot(0, self.show_whole_graph)

    def show_whole_graph(self) -> None:
        """Fit the graph to the view, but keep its text readable."""
        self.view.fit_all(readable=0.6)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        if icon:
            from PySide6.QtGui import QIcon

            act.setIcon(QIcon.fromTheme(icon))
        act.triggered.connect(lambda _checked=False: slot())
        return act

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_project, K.New, "Start a blank project", "document-new")
        self.act_open = self._action("&Open…", self.open_dialog, K.Open, "Open a project", "document-open")
        self.act_save = self._action("&Save", self.save, K.Save, "Save the project", "document-save")
        self.act_save_as = self._action("Save &As…", self.save_as, K.SaveAs, "Save under a new name",
                                        "document-save-as")
        self.act_import = self._action("&Import Keras Model…", self.import_dialog, None,
                                       "Turn a .keras or .h5 model into a graph (safe mode)")
        self.act_png = self._action("Graph as &PNG…", lambda: self.export_image("png"))
        self.act_svg = self._action("Graph as S&VG…", lambda: self.export_image("svg"))
        self.act_close = self._action("&Close", self.close_project, K.Close)
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_cut = self._action("Cu&t", self.cut, K.Cut)
        self.act_copy = self._action("&Copy", self.copy, K.Copy)
        self.act_paste = self._action("&Paste", self.paste, K.Paste)
        self.act_duplicate = self._action("D&uplicate", self.duplicate, QKeySequence("Ctrl+D"))
        self.act_delete = self._action("&Delete", lambda: self.scene.delete_selection(), K.Delete)
        self.act_select_all = self._action("Select &All", self.select_all, K.SelectAll)
        self.act_add = self._action("&Add Layer…", lambda: self.view.open_quick_add(), None,
                                    "Search and add a layer (Tab or Space over the canvas)")
        self.act_fit = self._action("&Fit to View", lambda: self.view.fit_all(), QKeySequence("F"))
        self.act_zoom_in = self._action("Zoom &In", lambda: self.view.set_zoom(self.view.zoom() * 1.25), K.ZoomIn)
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.view.set_zoom(self.view.zoom() / 1.25), K.ZoomOut)
        self.act_zoom_reset = self._action("&Actual Size", lambda: self.view.set_zoom(1.0), QKeySequence("Ctrl+0"))
        self.act_layout = self._action("Auto &Layout", self.auto_layout, QKeySequence("Ctrl+L"),
                                       "Arrange the graph in layers, top to bottom")
        self.act_labels = QAction("Shapes on &Edges", self, checkable=True, checked=True)
        self.act_labels.toggled.connect(self._toggle_labels)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addAction(self.act_new)
        m.addAction("&Gallery\u2026", self.show_gallery).setShortcut(QKeySequence("Ctrl+Shift+G"))
        self.examples_menu = m.addMenu("New from &Example")
        for path in sorted(EXAMPLES.glob("*.dlsproj")):
            self.examples_menu.addAction(path.stem.replace("_", " "), lambda p=path: self.open_example(p))
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        m.addAction(self.act_save)
        m.addAction(self.act_save_as)
        m.addSeparator()
        m.addAction(self.act_import)
        export = m.addMenu("&Export")
        export.addAction(self.act_png)
        export.addAction(self.act_svg)
        export.addSeparator()
        __import__("dlstudio.qt.export_dialog", fromlist=["add_export_action"]).add_export_action(self, export)
        m.addSeparator()
        m.addAction(self.act_close)
        m.addAction(self.act_quit)

        self.edit_menu = bar.addMenu("&Edit")
        self.edit_menu.addSeparator()
        self.edit_menu.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                                   self.act_delete])
        self.edit_menu.addSeparator()
        self.edit_menu.addAction(self.act_select_all)
        self.edit_menu.addAction(self.act_add)

        v = bar.addMenu("&View")
        v.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset])
        v.addSeparator()
        v.addAction(self.act_layout)
        v.addAction(self.act_labels)
        v.addSeparator()
        panels = v.addMenu("&Panels")
        for dock in self.findChildren(QDockWidget):  # every panel, in the order they were made
            panels.addAction(dock.toggleViewAction())
        theme = v.addMenu("&Theme")
        for mode in ("system", "light", "dark"):
            theme.addAction(mode.capitalize(), lambda m=mode: self._set_theme(m))

        self._build_model_menu(bar)
        h = bar.addMenu("&Help")
        h.addAction("Example &Gallery\u2026", self.show_gallery)
        h.addAction("&About DL Studio", self.about)

    def _build_toolbar(self) -> None:
        tb = self.toolbar = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        self._undo_anchor = tb.addSeparator()
        tb.addActions([self.act_add, self.act_layout, self.act_fit])
        tb.addSeparator()
        tb.addActions([self.act_train, self.act_stop_training])

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

    def _rebind_undo(self, document: Document) -> None:
        """Undo/Redo actions of the current document's stack, in the menu and tool bar."""
        for act in getattr(self, "_undo_actions", []):
            self.edit_menu.removeAction(act)
            self.toolbar.removeAction(act)
            act.deleteLater()
        undo = document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts(QKeySequence.StandardKey.Undo)
        redo = document.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(QKeySequence.StandardKey.Redo)
        undo.setIconText("Undo")  # the tool bar keeps a steady width; menus say what is undone
        redo.setIconText("Redo")
        first = self.edit_menu.actions()[0]
        self.edit_menu.insertActions(first, [undo, redo])
        self.toolbar.insertActions(self._undo_anchor, [undo, redo])
        self._undo_actions = [undo, redo]

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — DL Studio")

    def _selection_changed(self) -> None:
        ids = self.scene.selected_node_ids()
        self.inspector.set_node(ids[0] if len(ids) == 1 else None)
        if len(ids) == 1:
            self.inspector_dock.raise_()

    def _keras_ready(self) -> None:
        self.loading.hide()
        self.statusBar().showMessage(f"Ready — Keras on {_backend()}", 4000)
        if self._pending_path is not None:
            path, self._pending_path = self._pending_path, None
            if self._pending_as_copy:
                self._open_copy(path)
            else:
                self.open_path(path)
        self.scene._annotations_changed()
        QTimer.singleShot(0, self.offer_recovery)

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
        if not keras_ready():
            self._pending_path = Path(path)
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
        from dlstudio.compile.importer import ModelImportError, import_model_file

        try:
            graph, _weights = import_model_file(path)
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

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for p in paths:
            self.recent_menu.addAction(str(p), lambda p=p: self.maybe_save() and self.open_path(p))
        if not paths:
            self.recent_menu.addAction("No recent projects").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.recent.clear)

    # ------------------------------------------------------------------ edit
    def copy(self) -> None:
        ids = self.scene.selected_node_ids()
        if not ids:
            return
        data = QMimeData()
        text = json.dumps(fragment_of(self.document.graph, ids))
        data.setData(FRAGMENT_MIME, QByteArray(text.encode()))
        data.setText(text)
        QGuiApplication.clipboard().setMimeData(data)
        self.statusBar().showMessage(f"Copied {len(ids)} layer{'s' if len(ids) > 1 else ''}", 3000)

    def cut(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self.copy()
            self.document.push(RemoveItemsCommand(self.document.graph, ids))

    def paste(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        if data is None or not data.hasFormat(FRAGMENT_MIME):
            return
        try:
            fragment = json.loads(bytes(data.data(FRAGMENT_MIME)).decode())
        except ValueError:
            return
        self._paste_fragment(fragment, "Paste")

    def duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._paste_fragment(fragment_of(self.document.graph, ids), "Duplicate")

    def _paste_fragment(self, fragment: dict, text: str) -> None:
        from dlstudio.catalog import UnknownLayerError, get_spec

        nodes = fragment.get("nodes") or []
        try:
            for n in nodes:
                get_spec(n["type"])
        except (UnknownLayerError, KeyError, TypeError):
            self.statusBar().showMessage("The clipboard holds no layers DL Studio knows", 4000)
            return
        if not nodes:
            return
        cmd = PasteCommand(self.document.graph, fragment, offset=(40.0, 40.0), text=text)
        self.document.push(cmd)
        self.scene.select_nodes(cmd.node_ids)

    def select_all(self) -> None:
        for item in self.scene.node_items.values():
            item.setSelected(True)

    def auto_layout(self) -> None:
        from dlstudio.compile.layout import layered_layout

        graph = self.document.graph
        copy = graph.copy()
        layered_layout(copy)
        moves = {n.id: (tuple(n.pos), tuple(copy.node(n.id).pos)) for n in graph.nodes
                 if tuple(n.pos) != tuple(copy.node(n.id).pos)}
        if moves:
            self.document.push(MoveNodesCommand(graph, moves, "Auto layout"))
        self.view.fit_all()

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
    def _restore_layout(self) -> None:
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
    # The Training, Training settings and Runs docks, the Model menu (Train F5,
    # Stop, Continue) and stopping a training cleanly when the window closes.
    def _build_training(self) -> None:
        from dlstudio.qt.panels.training.runs_panel import RunsPanel
        from dlstudio.qt.panels.training.training_panel import TrainingPanel
        from dlstudio.qt.panels.training.training_settings import TrainingSettingsForm

        self.training_dock = self._dock("Training", "training", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.runs_dock = self._dock("Runs", "runs", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.training_settings_dock = self._dock("Settings", "training_settings",
                                                 Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_panel = TrainingPanel(None)
        self.training_panel.save_handler = self.save
        self.training_dock.setWidget(self.training_panel)
        self.runs_panel = RunsPanel(None)
        self.runs_dock.setWidget(self.runs_panel)
        self.training_settings = TrainingSettingsForm(None)
        self.training_settings_dock.setWidget(self.training_settings)
        self.tabifyDockWidget(self.problems_dock, self.training_dock)
        self.tabifyDockWidget(self.training_dock, self.runs_dock)
        self.tabifyDockWidget(self.summary_dock, self.training_settings_dock)
        self.problems_dock.raise_()
        self.inspector_dock.raise_()

        tp, runs = self.training_panel, self.runs_panel
        tp.running_changed.connect(self._training_running_changed)
        tp.settings_requested.connect(lambda: self._raise_dock(self.training_settings_dock))
        tp.run_started.connect(self._runs_busy)
        runs.runs_changed.connect(tp.refresh_runs)
        runs.continue_requested.connect(lambda path: self.continue_training(path))
        # the panel's own buttons go through the window, which sends a GAN project to the GAN panel
        for button, slot in ((tp.train_button, self.train), (tp.continue_button, self.continue_training)):
            button.clicked.disconnect()
            button.clicked.connect(lambda _checked=False, slot=slot: slot())

        self.act_train = self._action("&Train", self.train, QKeySequence("F5"),
                                      "Train the model on the project's dataset (F5)")
        self.act_stop_training = self._action("&Stop Training", self.stop_training, QKeySequence("Shift+F5"),
                                              "Stop after the current batch; the run is saved")
        self.act_continue_training = self._action("&Continue Training", lambda: self.continue_training(),
                                                  QKeySequence("Ctrl+F5"),
                                                  "Train more epochs from the last run's weights")
        self.act_stop_training.setEnabled(False)

    def _training_docks(self) -> list[QDockWidget]:
        return [self.training_dock, self.runs_dock, self.training_settings_dock, self.evaluation_dock,
                self.predict_dock, self.gan_dock]

    def _raise_dock(self, dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    def _build_model_menu(self, bar) -> None:
        m = self.model_menu = bar.addMenu("&Model")
        m.addActions([self.act_train, self.act_stop_training, self.act_continue_training])
        m.addSeparator()
        m.addAction("Training &Settings…", lambda: self._raise_dock(self.training_settings_dock))
        m.addAction("&Runs", lambda: self._raise_dock(self.runs_dock))

    def _training_set_document(self, document: Document) -> None:
        self.training_panel.set_document(document)
        self.training_settings.set_document(document)
        self.runs_panel.set_document(document)
        self.evaluation_panel.set_document(document)
        self.predict_panel.set_document(document)

    def _show_training(self) -> None:
        dock = self.training_dock
        self._raise_dock(dock)
        if not dock.isFloating() and dock.height() < 360:  # room for the plots
            self.resizeDocks([dock], [400], Qt.Orientation.Vertical)

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

    # ------------------------------------------------------------- adversarial
    def _build_adversarial_dock(self) -> None:
        """Adversarial examples of a trained run, a tab beside Insight; new runs appear in it."""
        from dlstudio.qt.panels.adversarial.adversarial_panel import AdversarialPanel

        self.adversarial_dock = self._dock("Adversarial", "adversarial", Qt.DockWidgetArea.RightDockWidgetArea)
        self.adversarial_panel = AdversarialPanel(None)
        self.adversarial_dock.setWidget(self.adversarial_panel)
        self.tabifyDockWidget(self.insight_dock, self.adversarial_dock)
        self.inspector_dock.raise_()

    # ------------------------------------------------------------- evaluation
    def _build_evaluation_docks(self) -> None:
        """Evaluation and Predict, tabs beside Training and Runs at the bottom; a finished
        training is evaluated at once, and the Insight panel may follow a running one."""
        from dlstudio.qt.panels.evaluation.evaluation_panel import EvaluationPanel
        from dlstudio.qt.panels.evaluation.predict_panel import PredictPanel

        self.evaluation_dock = self._dock("Evaluation", "evaluation", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.evaluation_panel = EvaluationPanel(None)
        self.evaluation_dock.setWidget(self.evaluation_panel)
        self.predict_dock = self._dock("Predict", "predict", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.predict_panel = PredictPanel(None)
        self.predict_dock.setWidget(self.predict_panel)
        self.tabifyDockWidget(self.runs_dock, self.evaluation_dock)
        self.tabifyDockWidget(self.evaluation_dock, self.predict_dock)
        self.problems_dock.raise_()
        tp = self.training_panel
        tp.training_finished.connect(self._evaluate_finished_run)
        tp.live_event.connect(self.insight_panel.on_live_event)
        tp.running_changed.connect(lambda running: self.insight_panel.set_training(
            tp.worker.graph if running and tp.worker is not None else None))
        self.insight_panel.live_refresh_changed.connect(tp.set_weights_wanted)

    def _evaluate_finished_run(self, finished) -> None:
        """A training saved a run: every run panel shows it once the training thread ends
        (Document.run_finished); the Evaluation tab comes forward only when the user was
        watching the Training tab and the run ended on its own."""
        if not finished.run_path:
            return
        watching = not self.training_dock.visibleRegion().isEmpty()
        if watching and not finished.stopped:
            self.evaluation_dock.raise_()


def _backend() -> str:
    from dlstudio.backend import backend_name

    return backend_name()


def _scroll_when_small(dock: QDockWidget) -> None:
    """Put a dock's panel in a scroll area, so a panel with a tall or wide minimum size
    does not force its whole dock area (and the canvas beside it) to that size."""
    from PySide6.QtWidgets import QFrame, QScrollArea

    panel = dock.widget()
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)
    dock.setWidget(area)
