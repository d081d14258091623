"""The main window's actions, menus and tool bar, as a mixin of
:class:`~dlstudio.qt.main_window.MainWindow`: File (New, Gallery, New from Example, Open,
Open Recent, Save, Import, Export), Edit (Undo/Redo of the open document, clipboard,
Add Layer), View (zoom, layout, Panels, Theme), Model (Train F5, Stop, Continue, Settings,
Runs) and Help. The slots are the window's; this only wires them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget

from dlstudio import RESOURCES
from dlstudio.qt.document import Document

EXAMPLES = RESOURCES / "examples"


class WindowMenus:
    """The actions, menus and tool bar of the main window (a mixin: ``self`` is the window)."""

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
        self.act_group = self._action("&Group into Block", self.group, QKeySequence("Ctrl+G"),
                                      "Make the selected layers one block, shown as one node")
        self.act_ungroup = self._action("U&ngroup Block", self.ungroup, QKeySequence("Ctrl+Shift+G"),
                                        "Turn the selected block back into its layers")
        self.act_add = self._action("&Add Layer…", lambda: self.view.open_quick_add(), None,
                                    "Search and add a layer (Tab or Space over the canvas)")
        self.act_fit = self._action("&Fit to View", lambda: self.view.fit_all(), QKeySequence("F"),
                                    "Show the whole graph (F)")
        self.act_zoom_in = self._action("Zoom &In", lambda: self.view.set_zoom(self.view.zoom() * 1.25), K.ZoomIn)
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.view.set_zoom(self.view.zoom() / 1.25), K.ZoomOut)
        self.act_zoom_reset = self._action("&Actual Size", lambda: self.view.set_zoom(1.0), QKeySequence("Ctrl+0"))
        self.act_layout = self._action("Auto &Layout", self.auto_layout, QKeySequence("Ctrl+L"),
                                       "Arrange the graph in layers, top to bottom")
        self.act_previews = QAction("Layer &Previews", self, checkable=True, checked=False)
        self.act_previews.setStatusTip("Show beside each layer what it makes of one sample (click one to open it "
                                       "in Insight)")
        self.act_previews.toggled.connect(self.set_previews)
        self.act_labels = QAction("Shapes on &Edges", self, checkable=True, checked=True)
        self.act_labels.toggled.connect(self._toggle_labels)
        # the Model menu's training actions (F5, Shift+F5, Ctrl+F5)
        self.act_train = self._action("&Train", self.train, QKeySequence("F5"),
                                      "Train the model on the project's dataset (F5)")
        self.act_stop_training = self._action("&Stop Training", self.stop_training, QKeySequence("Shift+F5"),
                                              "Stop after the current batch; the run is saved")
        self.act_continue_training = self._action("&Continue Training", lambda: self.continue_training(),
                                                  QKeySequence("Ctrl+F5"),
                                                  "Train more epochs from the last run's weights")
        self.act_stop_training.setEnabled(False)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addAction(self.act_new)
        m.addAction("&Gallery\u2026", self.show_gallery).setShortcut(QKeySequence("Ctrl+Shift+N"))
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
        self.edit_menu.addSeparator()
        self.edit_menu.addActions([self.act_group, self.act_ungroup])
        self.edit_menu.addAction(self.act_add)

        v = bar.addMenu("&View")
        v.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset])
        v.addSeparator()
        v.addAction(self.act_layout)
        v.addAction(self.act_labels)
        v.addAction(self.act_previews)
        v.addSeparator()
        panels = v.addMenu("&Panels")
        for dock in self.findChildren(QDockWidget):  # every panel, in the order they were made
            panels.addAction(dock.toggleViewAction())
        v.addAction("&Reset Layout", self.reset_layout).setStatusTip(
            "Put every panel back where a new window has it")
        theme = v.addMenu("&Theme")
        self.theme_actions = QActionGroup(self)  # one checked: the theme in use
        for mode in ("system", "light", "dark"):
            act = theme.addAction(mode.capitalize(), lambda m=mode: self._set_theme(m))
            act.setCheckable(True)
            act.setData(mode)
            self.theme_actions.addAction(act)
        theme.aboutToShow.connect(self._mark_theme)
        self._mark_theme()

        self._build_model_menu(bar)
        h = bar.addMenu("&Help")
        self.act_guide = self._action("&User Guide", self.show_guide, QKeySequence.StandardKey.HelpContents,
                                      "The guide to every panel and the command line (searchable)")
        h.addAction(self.act_guide)
        h.addAction("&Keyboard Shortcuts\u2026", self.show_shortcuts)
        from PySide6.QtWidgets import QWhatsThis

        self.act_whats_this = QWhatsThis.createAction(self)  # Shift+F1, then click a panel
        h.addAction(self.act_whats_this)
        h.addAction("Example &Gallery\u2026", self.show_gallery)
        h.addSeparator()
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

    def _rebind_undo(self, document: Document) -> None:
        """Undo/Redo actions of the current document's stack, in the menu and tool bar."""
        for act in getattr(self, "_undo_actions", []):
            self.edit_menu.removeAction(act)
            self.toolbar.removeAction(act)
            act.deleteLater()
        undo = document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts(QKeySequence.StandardKey.Undo)
        redo = document.undo_stack.createRedoAction(self, "&Redo")
        # the platform's redo keys, and Ctrl+Y everywhere (Linux's own is Ctrl+Shift+Z)
        redo.setShortcuts([*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo),
                           *([QKeySequence("Ctrl+Y")] if QKeySequence("Ctrl+Y") not in
                             QKeySequence.keyBindings(QKeySequence.StandardKey.Redo) else [])])
        undo.setIconText("Undo")  # the tool bar keeps a steady width; menus say what is undone
        redo.setIconText("Redo")
        undo.setToolTip("Undo the last edit (Ctrl+Z); the Edit menu names it")
        redo.setToolTip("Redo what was undone (Ctrl+Shift+Z or Ctrl+Y)")
        first = self.edit_menu.actions()[0]
        self.edit_menu.insertActions(first, [undo, redo])
        self.toolbar.insertActions(self._undo_anchor, [undo, redo])
        self._undo_actions = [undo, redo]

    def _mark_theme(self) -> None:
        """Check the Theme menu's entry of the theme in use."""
        from dlstudio.qt.theme import current_mode

        mode = current_mode()
        for act in self.theme_actions.actions():
            act.setChecked(act.data() == mode)

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

    def _build_model_menu(self, bar) -> None:
        m = self.model_menu = bar.addMenu("&Model")
        m.addActions([self.act_train, self.act_stop_training, self.act_continue_training])
        m.addSeparator()
        m.addAction("Training &Settings…", lambda: self._raise_dock(self.training_settings_dock))
        m.addAction("&Runs", lambda: self._raise_dock(self.runs_dock))
