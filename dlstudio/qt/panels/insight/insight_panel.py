"""The insight panel: look inside a CNN, layer by layer.

At the top, the model (a trained run of the project, or the graph untrained)
and the input (a sample of the dataset's test or train split with prev/next, or
an image file dropped on the panel). Four tabs:

- **Feature maps**: for every convolution and pooling layer a grid of small
  colour-mapped tiles, one per channel, each stretched to its own range, under
  the layer's name and shape; click a tile to enlarge it next to the input.
  Dense layers show their activations as bars.
- **Filters & weights**: the first convolution's kernels as images and a
  histogram of each layer's weights (kernel, bias, ...).
- **Saliency**: the input, |d score / d input| and the Grad-CAM overlay for the
  predicted (or chosen) class, and the top probabilities.
- **Convolution**: the convolution playground (:mod:`conv_playground`).
- **Attribution**: Integrated Gradients, SmoothGrad, occlusion, saliency or Grad-CAM
  for any class, with the model randomisation check (:mod:`attribution_view`).

Everything is computed by :func:`dlstudio.insight.models.look_inside` on a
worker thread, one computation at a time (the latest request wins); results are
cached per (model, dataset, input, class), models per run (or per graph state,
for the untrained graph). ``show_layer(name)`` scrolls to a layer's maps (the
canvas selection calls it). The views that draw live in :mod:`insight_views`.

"Refresh while training": while a training runs (``set_training(graph)``), its
weights arrive at each epoch's end (``on_live_event(WeightsSnapshot)``); the
maps, weights and saliency of the current input are recomputed with them on a
model of the training's graph kept by this panel (the latest epoch wins).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.insight.conv_playground import ConvPlayground
from dlstudio.qt.panels.data.data_widgets import muted_label, sample_stepper
from dlstudio.qt.panels.insight.insight_views import (
    FeatureMapsView,
    SaliencyView,
    WeightsView,
    scroll_area,
)
from dlstudio.errors import sentence
from dlstudio.qt.panels.runs.run_combo import RunsCombo, RunSource
from dlstudio.qt.panels.runs.run_job import RunJob
from dlstudio.qt.signals import rebind

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CACHE_SIZE = 32  # results kept (model, dataset, input, class)
MODELS_KEPT = 3


def _compute(job: dict) -> tuple:
    """On the worker thread: load what is missing (model, dataset), read the input and
    look inside. Returns (model, dataset, x, caption, insight, split size)."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.models import (
        check_fits,
        look_inside,
        project_dataset,
        sample,
        split_arrays,
        untrained_model,
    )

    load_keras()
    project, run = job["project"], job["run"]
    model, dataset = job["model"], job["dataset"]
    if dataset is None:
        if run is not None:
            from dlstudio.runs import dataset_for_run

            dataset = dataset_for_run(project, run)
        else:
            dataset = project_dataset(project)
    if job.get("weights") is not None:  # the running training's weights, on our own model of its graph
        if model is None:
            model = untrained_model(job["graph"])
        model.set_weights(list(job["weights"]))
    elif model is None:
        if run is not None:
            from dlstudio.runs import load_run_model

            model = load_run_model(run, "last")
        else:
            model = untrained_model(job["graph"])
    check_fits(model, dataset)
    kind, *rest = job["input_key"]
    split = job["split"]
    count = len(split_arrays(dataset, split)[0])
    if kind == "file":
        from dlstudio.training.evaluate import read_input_file

        x = read_input_file(rest[0], tuple(model.inputs[0].shape[1:]), dataset)[0]
        caption = Path(rest[0]).name
    else:
        x, caption = sample(dataset, min(rest[1], max(0, count - 1)), split)
    return model, dataset, x, caption, look_inside(model, x, job["class"]), count


class InsightPanel(QWidget):
    """Feature maps, filters, weights, saliency and the convolution playground.

    Signals: ``computed(object)`` an Insight is shown; ``failed(str)`` a model
    or an input could not be looked into (the message is shown too).
    """

    computed = Signal(object)
    failed = Signal(str)
    live_refresh_changed = Signal(bool)  # "refresh while training" was switched

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("InsightPanel")
        self.setAcceptDrops(True)
        self.document = None
        self.insight = None  # the Insight shown
        self.sample: np.ndarray | None = None  # the input shown
        self.caption = ""
        self.dataset = None
        self._models: dict[tuple, Any] = {}
        self._datasets: dict[tuple, Any] = {}
        self.job = RunJob(self, CACHE_SIZE)
        self.job.done.connect(self._done)
        self.job.failed.connect(lambda _key, message: self._fail(message))
        self._jobs: dict[tuple, dict] = {}  # the keys asked for lately -> the job each describes
        self._file: str | None = None
        self._stale = True
        self._shown_key: tuple | None = None
        self._wanted_layer: str | None = None
        self._training_graph = None  # the graph a running training trains (a copy)
        self._live_snapshot = None  # its latest WeightsSnapshot
        self._live_id = 0  # one per training
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(350)
        self._timer.timeout.connect(self.refresh)
        self._build()
        self.set_document(document)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 4)
        outer.setSpacing(4)
        top = QGridLayout()
        top.setHorizontalSpacing(4)
        top.setVerticalSpacing(4)
        self.model_combo = RunsCombo(self)
        self.model_combo.setToolTip("A trained run of this project, or the graph with fresh random weights")
        self.model_combo.setMinimumContentsLength(12)
        self.runs = RunSource(self.model_combo, lead=[("Untrained graph (random weights)", None)])
        self.runs.changed.connect(lambda: self.schedule(0))
        self.reload_button = QToolButton(self)
        self.reload_button.setText("\u21bb")
        self.reload_button.setToolTip("Reload the runs and recompute")
        self.reload_button.clicked.connect(self.reload)
        top.addWidget(QLabel("Model", self), 0, 0)
        top.addWidget(self.model_combo, 0, 1, 1, 4)
        top.addWidget(self.reload_button, 0, 5)
        self.split_combo = QComboBox(self)
        self.split_combo.addItems(["test", "train"])
        self.split_combo.setToolTip("Take the sample from the test or the training split")
        self.split_combo.currentIndexChanged.connect(lambda _i: self._use_dataset_input())
        self.prev_button, self.index, self.next_button = sample_stepper(self, self.set_sample,
                                                                        self._use_dataset_input)
        self.index.setToolTip("Sample number in the split")
        self.file_button = QPushButton("Image\u2026", self)
        self.file_button.setToolTip("Look at an image file instead (or drop one on the panel)")
        self.file_button.clicked.connect(self._open_file)
        top.addWidget(QLabel("Input", self), 1, 0)
        for col, w in enumerate((self.split_combo, self.prev_button, self.index, self.next_button), start=1):
            top.addWidget(w, 1, col)
        top.addWidget(self.file_button, 1, 5)
        top.setColumnStretch(3, 1)
        outer.addLayout(top)
        self.live_check = QCheckBox("Refresh while training", self)
        self.live_check.setToolTip("While a training runs, recompute the maps, weights and saliency of this input "
                                   "with the weights of each epoch as it ends")
        self.live_check.toggled.connect(self._live_toggled)
        top.addWidget(self.live_check, 2, 1, 1, 5)
        self.status = muted_label("", self)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.status)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        outer.addWidget(self.tabs, 1)
        self.maps = FeatureMapsView(self)
        self.maps_scroll = scroll_area(self.maps, self)
        self.tabs.addTab(self.maps_scroll, "Feature maps")
        self.weights = WeightsView(self)
        self.tabs.addTab(scroll_area(self.weights, self), "Weights")
        self.saliency = SaliencyView(self)
        self.saliency.class_changed.connect(lambda: self.schedule(0))
        self.tabs.addTab(scroll_area(self.saliency, self), "Saliency")
        self.playground = ConvPlayground(None, self)
        self.tabs.addTab(scroll_area(self.playground, self), "Convolution")
        from dlstudio.qt.panels.insight.attribution_view import AttributionView

        self.attribution = AttributionView(self)
        self.attribution_scroll = scroll_area(self.attribution, self)
        self.tabs.addTab(self.attribution_scroll, "Attribution")
        self.weights.restyle()
        self.tabs.currentChanged.connect(self._tab_changed)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.weights.restyle()
            self.maps._mark_selected()
        super().changeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(380, 640)

    # ------------------------------------------------------------------ document
    def set_document(self, document) -> None:
        """Follow another document (its graph, runs and dataset)."""
        rebind(self.document if self.document is not None and isValid(self.document) else None, document,
               ("settings_changed", self._document_changed),  # the dataset
               ("analysis_changed", self._document_changed))  # the graph (untrained view)
        self.document = document
        self._models.clear()
        self.job.reset()
        self._datasets.clear()
        self._file = None
        self.insight = None
        self.playground.set_document(document)
        self._clear("Pick a model and an input." if document is not None else "No project.")
        self.runs.set_document(document)  # a new project: its newest run again
        self.schedule(0)

    def _document_changed(self, *_args) -> None:
        self.schedule()

    def refresh_runs(self) -> None:
        """Re-read the project's runs (after a training); the choice is kept."""
        self.runs.refresh()

    def run_ids(self) -> list[str]:
        return self.model_combo.run_ids()

    def set_model(self, run_id: str | None) -> None:
        """Look at run ``run_id`` (None: the untrained graph)."""
        self.runs.refresh()
        if not self.model_combo.choose(run_id):
            raise KeyError(run_id)
        self.schedule(0)

    def reload(self) -> None:
        self.runs.refresh()
        self._models.clear()
        self.job.reset()
        self.schedule(0)

    # ------------------------------------------------------------------ input
    def set_sample(self, index: int, split: str | None = None) -> None:
        """Look at sample ``index`` of the dataset split (test by default)."""
        if split is not None:
            self.split_combo.setCurrentText(split)
        self._file = None
        self.index.setValue(max(0, min(int(index), self.index.maximum())))
        self.schedule(0)

    def set_input_file(self, path: str | Path) -> None:
        """Look at an image (or .npy) file, prepared as the dataset's samples."""
        self._file = str(path)
        self.schedule(0)

    def _use_dataset_input(self) -> None:
        self._file = None
        self.schedule(0)

    def _open_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Look at an image", "", "Images (*.png *.jpg *.jpeg *.bmp "
                                              "*.gif *.tif *.tiff *.webp);;NumPy arrays (*.npy)")
        if path:
            self.set_input_file(path)

    def dragEnterEvent(self, event) -> None:
        if self._dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = self._dropped_path(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.set_input_file(path)

    @staticmethod
    def _dropped_path(mime) -> str | None:
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES + (".npy",):
                return url.toLocalFile()
        return None

    # ------------------------------------------------------------------ live, while training
    def set_training(self, graph) -> None:
        """A training of ``graph`` (a copy) started; None: it ended (back to the chosen model)."""
        self._training_graph = graph
        self._live_snapshot = None
        self._live_id += 1
        if graph is None:
            self.refresh_runs()
            self.schedule(0)

    def live_refresh(self) -> bool:
        return self.live_check.isChecked()

    def _live_toggled(self, on: bool) -> None:
        self.live_refresh_changed.emit(on)
        if not on and self._live_snapshot is not None:
            self._live_snapshot = None
            self.schedule(0)

    def on_live_event(self, event) -> None:
        """An event of the running training: its weights (WeightsSnapshot) are looked at."""
        from dlstudio.training.events import WeightsSnapshot

        if isinstance(event, WeightsSnapshot) and self.live_check.isChecked() and self._training_graph is not None:
            self._live_snapshot = event
            self.schedule(0)

    # ------------------------------------------------------------------ keys
    def _graph_key(self) -> str:
        g = self.document.graph.to_dict()
        core = {"nodes": [{k: n[k] for k in ("id", "type", "name", "params")} for n in g["nodes"]],
                "edges": g["edges"]}
        return hashlib.sha1(json.dumps(core, sort_keys=True, default=str).encode()).hexdigest()

    def _job(self) -> dict:
        project = self.document.project
        run = self.runs.run()
        run_id = run.id if run is not None else None
        seed = int(getattr(project.training, "seed", 0) or 0)
        if run is not None:
            seed = int((run.info.get("settings") or {}).get("seed", seed))
        live = self._live_snapshot if self.live_check.isChecked() else None
        model_key = ("run", run_id) if run_id is not None else ("graph", self._graph_key())
        if live is not None:
            run, model_key = None, ("live", self._live_id)
        ds_key = (project.dataset.name, json.dumps(project.dataset.options, sort_keys=True, default=str), seed)
        if self._file is not None:
            p = Path(self._file)
            input_key = ("file", str(p), p.stat().st_mtime if p.exists() else 0)
        else:
            input_key = ("data", self.split_combo.currentText(), self.index.value())
        return {"model_key": model_key, "ds_key": ds_key, "input_key": input_key, "run": run,
                "split": self.split_combo.currentText(), "class": self.saliency.class_index(), "project": project,
                "graph": (self._training_graph if live is not None else self.document.graph).copy()
                if run is None else None,
                "model": self._models.get(model_key), "dataset": self._datasets.get(ds_key),
                "weights": live.weights if live is not None else None, "epoch": live.epoch if live else None}

    @staticmethod
    def _key(job: dict) -> tuple:
        return (job["model_key"], job["epoch"], job["ds_key"], job["input_key"], job["class"])

    # ------------------------------------------------------------------ computing
    def schedule(self, delay: int | None = None) -> None:
        """Recompute soon (now when ``delay`` is 0), or when the panel is next shown."""
        if self.document is None:
            return
        if not self.isVisible():
            self._stale = True
            return
        if delay == 0:
            self._timer.stop()
            self.refresh()
        else:
            self._timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.document is not None:
            self.refresh_runs()
        if self._stale:
            self._stale = False
            QTimer.singleShot(0, self.refresh)

    def is_busy(self) -> bool:
        return self.job.is_busy()

    def refresh(self) -> None:
        """Compute (or take from the cache) the insight for the chosen model and input."""
        from dlstudio.qt.keras_loader import keras_ready

        if self.document is None:
            return
        if not keras_ready():
            self._stale = True
            self.status.setText("Keras is loading\u2026")
            QTimer.singleShot(500, lambda: isValid(self) and self.schedule(0))
            return
        job = self._job()
        key = self._key(job)
        if key == self._shown_key:
            return
        # a result is shown with the job it was computed for: while one computes, newer requests wait,
        # and the one that was running still arrives (epoch 2's maps must not be labelled epoch 3)
        self._jobs[key] = job
        while len(self._jobs) > 8:
            self._jobs.pop(next(iter(self._jobs)))
        if self.job.request(key, _compute, job):
            self.status.setText("Computing\u2026")

    def _done(self, key: tuple, result: tuple) -> None:
        job = self._jobs.get(key) or self._job()
        model, dataset, x, caption, insight, count = result
        self._models[job["model_key"]] = model
        while len(self._models) > 3:
            self._models.pop(next(iter(self._models)))
        self._datasets[job["ds_key"]] = dataset
        self._show(job, dataset, x, caption, insight, count)
        kind, *where = job["input_key"]
        self.attribution.set_split_sample(model, dataset, x, caption, where[0] if kind == "data" else None,
                                          where[1] if kind == "data" else None)

    def _fail(self, message: str) -> None:
        message = sentence(message)
        self._shown_key = None
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        self.failed.emit(message)

    def _clear(self, text: str) -> None:
        self._set_status(text)
        self.insight, self.sample, self._shown_key = None, None, None
        self.maps.set_input(None, "")
        self.maps.show_insight(None)
        self.weights.show_insight(None)
        self.saliency.show_insight(None, None)

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")

    # ------------------------------------------------------------------ showing
    def _show(self, job: dict, dataset, x: np.ndarray, caption: str, insight, count: int) -> None:
        self.dataset, self.sample, self.caption, self.insight = dataset, x, caption, insight
        self._shown_key = self._key(job)
        names = list(dataset.class_names or []) if dataset.task == "classification" else []
        self.index.blockSignals(True)
        self.index.setMaximum(max(0, count - 1))
        self.index.blockSignals(False)
        file_input = job["input_key"][0] == "file"
        self.split_combo.setEnabled(True)
        self.saliency.set_classes(names)
        self.maps.set_input(x, caption)
        self.maps.show_insight(insight, names)
        self.weights.show_insight(insight)
        self.saliency.show_insight(insight, x)
        self.playground.set_sample(x if np.ndim(x) >= 2 else None)
        what = f"Run {job['run'].id}" if job["run"] is not None else "Untrained graph (random weights)"
        if job["epoch"] is not None:
            what = f"Training in progress, epoch {job['epoch']}"
        text = f"{what} \u00b7 {'file ' if file_input else ''}{caption}"
        e = insight.explanation
        if e is not None:
            p = np.asarray(e.probabilities)
            best = int(np.argmax(p))
            text += f" \u00b7 predicted {names[best] if best < len(names) else best} ({p[best]:.0%})"
        self._set_status(text)
        if self._wanted_layer is not None:
            QTimer.singleShot(0, lambda n=self._wanted_layer: isValid(self) and self._scroll_to(n))
        self.computed.emit(insight)

    def show_layer(self, name: str | None) -> bool:
        """Show layer ``name`` (a node name): mark and scroll to its maps, pick its
        weights, and let the playground write into it when it is a Conv2D.
        Returns whether the layer has maps or bars shown now."""
        self._wanted_layer = name
        graph = self.document.graph if self.document is not None else None
        node = graph.node_by_name(name) if graph is not None and name else None
        self.playground.set_target_node(node.id if node is not None else None)
        if not name:
            return False
        self.weights.select_layer(name)
        return self._scroll_to(name)

    def _scroll_to(self, name: str) -> bool:
        """Mark the layer; scroll to it now if the maps tab is showing, else when it is shown."""
        visible = self.tabs.currentWidget() is self.maps_scroll
        return self.maps.show_layer(name, self.maps_scroll if visible else None)

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.maps_scroll and self._wanted_layer:
            QTimer.singleShot(0, lambda n=self._wanted_layer: isValid(self) and self._scroll_to(n))

    def selected_layer(self) -> str | None:
        return self.maps.selected_layer
