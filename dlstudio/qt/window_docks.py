"""The main window's docks, as a mixin of :class:`~dlstudio.qt.main_window.MainWindow`:
every panel is made once, in its dock, and follows whichever document is open. Where each
dock sits and which it is tabbed with (Layers left; Inspector, Summary, Settings, Insight,
Adversarial right; Problems, Data, Training, Runs, Evaluation, Predict, Projector at the bottom), the
signals that tie the panels to each other (a finished training is evaluated, Insight follows
a running one), the default dock sizes and a work-around for Qt's stray dock tab bars.
The GAN, Autoencoder, Text and Forecast docks are built by their panels' modules.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from dlstudio.qt.document import Document


#: What each dock is for (Help > What's This?, Shift+F1, then click a panel), by object name.
#: The bottom docks' height in a new window (Problems, Data, Training, Runs, Evaluation, ...): their
#: panels (curves, confusion matrix, projection) fit without scrolling, and the canvas keeps more
#: than half of a 1400x900 window's height.
BOTTOM_HEIGHT = 290

WHATS_THIS = {
    "palette": "<b>Layers</b>: every Keras layer DL Studio knows, by category, and the <i>Blocks</i>: groups "
               "of layers from the lectures and your own. Drag one onto the canvas, double-click it, or search.",
    "inspector": "<b>Inspector</b>: the settings of the selected layer (or block), its output shape, "
                 "parameters and multiply-adds, and its problems with their fixes. Every edit can be undone.",
    "summary": "<b>Summary</b>: every layer with its output shape, parameters and multiply-adds, and the totals.",
    "problems": "<b>Problems</b>: what stops the model from training on its data, found while you edit, "
                "with a one-click <i>Fix</i> where one small edit resolves it.",
    "data": "<b>Data</b>: the project's dataset, its options and samples; the Input's shape follows it.",
    "insight": "<b>Insight</b>: feature maps, filters, saliency and attribution for a sample, from the untrained "
               "graph or a trained run; refreshed while training if you ask.",
    "training": "<b>Training</b>: train (F5), stop and continue; loss and metrics plotted per batch and epoch, "
                "with live views (decision boundary, gradient flow).",
    "runs": "<b>Runs</b>: every training of the project with its settings and results; compare their curves.",
    "training_settings": "<b>Settings</b>: loss, optimizer, learning rate and schedule, epochs, batch size, "
                         "metrics, early stopping, device.",
    "adversarial": "<b>Adversarial</b>: attack a trained classifier (FGSM, PGD) and see how robust it is.",
    "evaluation": "<b>Evaluation</b>: a run's test metrics, confusion matrix (click a cell for its samples), "
                  "per-class scores, ROC/PR and reliability curves.",
    "predict": "<b>Predict</b>: a run's answer for a test sample or a file you drop here.",
    "autoencoder": "<b>Autoencoder</b>: reconstructions and the code space of an autoencoder run.",
    "experiments": "<b>Experiments</b>: search over layer settings and training settings (Optuna), every trial "
                   "a run; compare trials and open the best.",
    "gan": "<b>GAN</b>: train a generator against a discriminator and watch the sample grid.",
    "projector": "<b>Projector</b>: a run's learned representation of the test set in 2-D (PCA or t-SNE); "
                 "hover for samples, click to predict.",
    "text_samples": "<b>Text</b>: what a language model writes after each epoch, or a trained run writes now.",
    "forecast": "<b>Forecast</b>: a time-series model's one-step and free-running forecasts against the truth.",
}


class WindowDocks:
    """The docks of the main window (a mixin: ``self`` is the window)."""

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWhatsThis(WHATS_THIS.get(name, ""))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        """The panels are made once and follow whichever document is open."""
        from dlstudio.qt.panels.editing.inspector import InspectorPanel
        from dlstudio.qt.panels.editing.palette import PalettePanel
        from dlstudio.qt.panels.editing.problems import ProblemsPanel
        from dlstudio.qt.panels.editing.summary import SummaryPanel

        self.palette_dock = self._dock("Layers", "palette", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", "inspector", Qt.DockWidgetArea.RightDockWidgetArea)
        self.summary_dock = self._dock("Summary", "summary", Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", "problems", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.palette_panel = PalettePanel()
        self.palette_panel.add_requested.connect(lambda t: self.view.add_layer(t))
        self.palette_panel.block_requested.connect(lambda key: self.add_block(key))
        self.palette_dock.setWidget(self.palette_panel)
        self.inspector = InspectorPanel(None)
        self.inspector.block_collapse_requested.connect(lambda bid, collapse: self.scene.set_collapsed(bid, collapse))
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
        __import__("dlstudio.qt.panels.experiments.experiments_dock", fromlist=["x"]).build_experiments_dock(self)
        for dock in (self.evaluation_dock, self.predict_dock, self.projector_dock, self.gan_dock):
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

    def _default_dock_sizes(self) -> None:
        """The canvas keeps more than half of the window's width and height (at 1400x900 the side
        docks are 196 + 340 px wide, the bottom ones about 265 px high)."""
        width = self.width()
        self.resizeDocks([self.palette_dock, self.inspector_dock],
                         [max(170, min(240, width * 14 // 100)), max(340, min(450, width * 24 // 100))],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.problems_dock], [BOTTOM_HEIGHT], Qt.Orientation.Vertical)
        QTimer.singleShot(0, self.show_whole_graph)

    def _build_training(self) -> None:
        """The Training, Settings and Runs docks; Train and Continue go through the window."""
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

    def _training_docks(self) -> list[QDockWidget]:
        return [self.training_dock, self.runs_dock, self.training_settings_dock, self.evaluation_dock,
                self.predict_dock, self.gan_dock]

    def _raise_dock(self, dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    def _training_set_document(self, document: Document) -> None:
        self.training_panel.set_document(document)
        self.training_settings.set_document(document)
        self.runs_panel.set_document(document)
        self.evaluation_panel.set_document(document)
        self.predict_panel.set_document(document)
        self.projector_panel.set_document(document)

    def _build_adversarial_dock(self) -> None:
        """Adversarial examples of a trained run, a tab beside Insight; new runs appear in it."""
        from dlstudio.qt.panels.adversarial.adversarial_panel import AdversarialPanel

        self.adversarial_dock = self._dock("Adversarial", "adversarial", Qt.DockWidgetArea.RightDockWidgetArea)
        self.adversarial_panel = AdversarialPanel(None)
        self.adversarial_dock.setWidget(self.adversarial_panel)
        self.tabifyDockWidget(self.insight_dock, self.adversarial_dock)
        self.inspector_dock.raise_()

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
        __import__("dlstudio.qt.panels.projector.projector_panel", fromlist=["x"]).build_projector_dock(self)
        self.evaluation_panel.samples.grid.selected.connect(self.explain_evaluated_sample)
        self.problems_dock.raise_()
        tp = self.training_panel
        tp.training_finished.connect(self._evaluate_finished_run)
        tp.live_event.connect(self.insight_panel.on_live_event)
        tp.running_changed.connect(lambda running: self.insight_panel.set_training(
            tp.worker.graph if running and tp.worker is not None else None))
        self.insight_panel.live_refresh_changed.connect(tp.set_weights_wanted)
        tp.live_event.connect(lambda event: self.previews.on_live_event(
            event, tp.worker.graph if tp.worker is not None else None) if self.previews is not None else None)
        tp.running_changed.connect(lambda running: None if running or self.previews is None
                                   else (self.previews.training_ended(), self.previews.refresh()))

    def explain_evaluated_sample(self, position: int) -> bool:
        """A sample clicked among a confusion-matrix cell's samples (Evaluation) opens in the
        Insight dock's Attribution tab with the same run: why did it decide that?"""
        ev = self.evaluation_panel.evaluation
        shown = self.evaluation_panel.samples.indices
        if ev is None or not 0 <= position < len(shown):
            return False
        try:
            self.insight_panel.set_model(ev.run_id)
        except KeyError:
            return False
        self.insight_panel.set_sample(int(shown[position]), "test")
        self.insight_panel.tabs.setCurrentWidget(self.insight_panel.attribution_scroll)
        self.insight_dock.show()
        self.insight_dock.raise_()
        return True

    def _evaluate_finished_run(self, finished) -> None:
        """A training saved a run: every run panel shows it once the training thread ends
        (Document.run_finished); the Evaluation tab comes forward only when the user was
        watching the Training tab and the run ended on its own."""
        if not finished.run_path:
            return
        watching = not self.training_dock.visibleRegion().isEmpty()
        if watching and not finished.stopped:
            self.evaluation_dock.raise_()


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
