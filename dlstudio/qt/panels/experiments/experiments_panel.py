"""The Experiments panel: search the project's space in the background and compare the trials.

A toolbar (Start / Stop, the study's number of trials, progress with the ETA and the running
best), a filterable, sortable table of the trials (values, objective, parameters, MACs, time,
state, run) and four views of the study: the best objective so far, Optuna's parameter
importances, parallel coordinates, and the Pareto front of the objective against the parameter
count or the MACs. Double-clicking a trial or clicking its Pareto point opens its run
(``open_run_requested``); two selected trials can be compared (``diff_requested``). The search
itself is :func:`dlstudio.search.runner.run_search` on a :class:`SearchWorker` thread.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter, QTableWidget,
    QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from dlstudio.qt.panels.experiments.search_worker import SearchWorker
from dlstudio.qt.panels.experiments.space_editor import SpaceEditor
from dlstudio.qt.panels.training.training_plots import format_metric

FIXED_COLUMNS = ("trial", "state", "objective")
TAIL_COLUMNS = ("params", "MACs", "seconds", "run")


class NumberItem(QTableWidgetItem):
    """A cell that sorts by its number (text for the rest)."""

    def __init__(self, text: str, key: Any = None):
        super().__init__(text)
        self.key = key
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.key, getattr(other, "key", None)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        if isinstance(a, (int, float)) != isinstance(b, (int, float)):
            return isinstance(a, (int, float))  # numbers before blanks
        return self.text() < other.text()


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class ExperimentsPanel(QWidget):
    open_run_requested = Signal(str)  # a run id
    diff_requested = Signal(str, str)  # run ids A, B
    running_changed = Signal(bool)

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = None
        self.worker: SearchWorker | None = None
        self.records: list[Any] = []
        self.columns: list[str] = []
        self.trial_t0 = self.search_t0 = 0.0
        self.trials_done_now = 0
        self.running = False

        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.start_button = QPushButton("Start search", self)
        self.start_button.setToolTip("Search the project's space (Search over… on a parameter defines it); "
                                     "trials already in the study count, so Start continues a stopped search")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.trials_spin = QSpinBox(self)
        self.trials_spin.setRange(1, 100_000)
        self.trials_spin.setPrefix("trials: ")
        self.trials_spin.setToolTip("the study's number of trials in all (those already run included)")
        self.diff_button = QPushButton("Diff", self)
        self.diff_button.setToolTip("compare the runs of two selected trials: layers, parameters, settings, metrics")
        self.diff_button.clicked.connect(self.diff_selected)
        self.open_button = QPushButton("Open run", self)
        self.open_button.clicked.connect(self.open_selected)
        for w in (self.start_button, self.stop_button, self.trials_spin, self.diff_button, self.open_button):
            bar.addWidget(w)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        bar.addWidget(self.status, 1)
        layout.addLayout(bar)
        self.space = SpaceEditor(self)
        self.space.message.connect(self.status.setText)
        layout.addWidget(self.space)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.filter = QLineEdit(left)
        self.filter.setPlaceholderText("Filter trials (state, value, run…)")
        self.filter.textChanged.connect(self.apply_filter)
        left_layout.addWidget(self.filter)
        self.table = QTableWidget(0, 0, left)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected())
        left_layout.addWidget(self.table)
        self.tabs = QTabWidget(splitter)
        self._views_made = False  # the plots (pyqtgraph, slow to import) are made with the first trials
        self._no_trials = QLabel("The Pareto front, the best-so-far curve, the parameters' importances "
                                 "and parallel coordinates appear here with the first trials.", self.tabs)
        self._no_trials.setWordWrap(True)
        self._no_trials.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs.addTab(self._no_trials, "Plots")
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.set_document(document)

    def _make_views(self) -> None:
        """The plot tabs, made when the first trials are shown (not at start-up)."""
        if self._views_made:
            return
        from dlstudio.qt.panels.experiments.experiments_plots import (
            BestSoFarView, ImportanceView, ParallelView, ParetoView,
        )

        self._views_made = True
        self.tabs.removeTab(0)
        self._no_trials.deleteLater()
        self.best_view = BestSoFarView(self.tabs)
        self.pareto_view = ParetoView(self.tabs)
        self.pareto_view.run_clicked.connect(self.open_run_requested)
        self.importance_view = ImportanceView(self.tabs)
        self.parallel_view = ParallelView(self.tabs)
        self.tabs.addTab(self.pareto_view, "Pareto front")
        self.tabs.addTab(self.best_view, "Best so far")
        self.tabs.addTab(self.importance_view, "Importances")
        self.tabs.addTab(self.parallel_view, "Parallel coordinates")

    # ------------------------------------------------------------------ document
    @property
    def project(self):
        return getattr(self.document, "project", None)

    def set_document(self, document) -> None:
        if self.document is not None:
            try:
                self.document.settings_changed.disconnect(self._settings_changed)
            except (RuntimeError, TypeError):
                pass
        self.document = document
        self.records = []
        if document is not None:
            document.settings_changed.connect(self._settings_changed)
        self.space.set_document(document)
        self._settings_changed("search")
        self.reload()

    def _settings_changed(self, name: str) -> None:
        if name != "search":
            return
        search = getattr(self.project, "search", None)
        self.space.show_search()
        self.trials_spin.setValue(search.trials or 20 if search is not None else 20)
        self._update_buttons()
        if not self.is_running():
            self.status.setText(self._idle_text())

    def _idle_text(self) -> str:
        search = getattr(self.project, "search", None)
        if self.project is None:
            return "No project."
        if search is None or search.is_empty():
            return "No search space yet: right-click a parameter in the Inspector, Search over…"
        n = len(self.records)
        return (f"Searching {len(search.params) + len(search.optional) + len(search.repeat)} values for the "
                f"{'highest' if search.objective.direction == 'maximize' else 'lowest'} "
                f"{search.objective.metric}; {n} trial{'s' if n != 1 else ''} in the study.")

    def reload(self) -> None:
        """Read the study's trials from its storage (nothing when no search has run)."""
        project = self.project
        self.records = []
        importances: dict[str, float] = {}
        if project is not None and project.search is not None and project.path is not None:
            from dlstudio.search.check import search_space
            from dlstudio.search.space import SearchError
            from dlstudio.search.study import importances as study_importances, load_study, trial_records

            try:
                study = load_study(project)
                self.records = trial_records(study, search_space(project))
                importances = study_importances(study)
            except SearchError:
                pass
        self.show_records(importances)
        if not self.is_running():
            self.status.setText(self._idle_text())

    # ------------------------------------------------------------------ the search
    def is_running(self) -> bool:
        """From Start until every event of the search has been shown (its thread's end included)."""
        return self.running

    def start(self) -> bool:
        """Start (or continue) the search; False with the reason shown when it cannot start."""
        project = self.project
        if project is None or self.is_running():
            return False
        if project.path is None:
            self.status.setText("Save the project first: its studies are kept beside it.")
            return False
        from dlstudio.search.check import space_problems

        problems = space_problems(project) if project.search is not None else [
            "no search space yet: right-click a parameter in the Inspector, Search over…"]
        if problems:
            self.status.setText("The search cannot start:\n" + "\n".join(f"• {p}" for p in problems[:6]))
            return False
        snapshot = copy.copy(project)
        snapshot.graph = project.graph.copy()
        document = self.document
        loaded = getattr(document, "dataset", None)

        def dataset():
            if loaded is not None and hasattr(loaded, "x_train"):
                return loaded
            from dlstudio.data import load_dataset
            from dlstudio.data.paths import base_folder

            return load_dataset(project.dataset.name, project.dataset.options, seed=project.training.seed,
                                base=base_folder(snapshot))

        self.worker = SearchWorker(snapshot, dataset, trials=self.trials_spin.value(), runs_dir=document.runs.folder,
                                   parent=self)
        self.worker.event.connect(self._event)
        self.worker.failed.connect(lambda message: self.status.setText(message))
        self.worker.done.connect(self._done)
        self.search_t0 = time.monotonic()
        self.trials_done_now = 0
        self.running = True
        self.worker.start()
        self.status.setText("Starting the search…")
        self._update_buttons()
        self.running_changed.emit(True)
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.status.setText("Stopping after the current batch…")

    def _done(self) -> None:
        self.running = False
        self._update_buttons()
        self.running_changed.emit(False)
        if self.document is not None:
            self.document.notify_runs_changed()
        message = self.status.text()
        self.reload()
        if message:
            self.status.setText(message)  # how it ended (or why it failed) stays

    def _event(self, event: object) -> None:
        from dlstudio.search.runner import SearchEnded, SearchStarted, TrialEnded, TrialStarted
        from dlstudio.training.events import EpochEnd

        if isinstance(event, SearchStarted):
            self.budget = event.trials
        elif isinstance(event, TrialStarted):
            self.trial_t0 = time.monotonic()
            self.current = event.number
            self._progress(f"trial {event.number} started")
        elif isinstance(event, EpochEnd):
            self._progress(f"trial {getattr(self, 'current', '?')}: epoch {event.epoch}/{event.epochs}")
        elif isinstance(event, TrialEnded):
            self.trials_done_now += 1
            self.records = [r for r in self.records if r.number != event.record.number] + [event.record]
            self.records.sort(key=lambda r: r.number)
            self._make_views()
            self.show_records(self.importance_view.values)
            if self.document is not None:
                self.document.notify_runs_changed()
            self._progress(f"trial {event.record.number} {event.record.state}")
        elif isinstance(event, SearchEnded):
            best = event.best
            self.status.setText(("Stopped. " if event.stopped else "Done. ") + (
                f"Best: trial {best.number}, {self._metric()} {format_metric(self._metric(), best.value)}."
                if best else "No trial completed."))

    def _metric(self) -> str:
        return self.project.search.objective.metric if getattr(self.project, "search", None) else "objective"

    def _progress(self, what: str) -> None:
        counted = sum(r.counted for r in self.records)
        budget = getattr(self, "budget", None)
        text = f"{what} · {counted}/{budget or '∞'} trials"
        if self.trials_done_now and budget:
            mean = (time.monotonic() - self.search_t0) / self.trials_done_now
            left = max(0, budget - counted) * mean - (time.monotonic() - self.trial_t0)
            text += f" · ETA {int(max(0, left)) // 60}:{int(max(0, left)) % 60:02d}"
        best = self.best_record()
        if best is not None:
            text += f" · best {self._metric()} {format_metric(self._metric(), best.value)} (trial {best.number})"
        self.status.setText(text)

    def best_record(self):
        from dlstudio.search.study import best_record

        direction = self.project.search.objective.direction if getattr(self.project, "search", None) else "minimize"
        return best_record(self.records, direction)

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running and self.project is not None)
        self.stop_button.setEnabled(running)
        self.trials_spin.setEnabled(not running)
        self._selection_changed()

    # ------------------------------------------------------------------ the views
    def show_records(self, importances: dict[str, float] | None = None) -> None:
        search = getattr(self.project, "search", None)
        direction = search.objective.direction if search else "minimize"
        metric = search.objective.metric if search else "objective"
        names = list(dict.fromkeys(k for r in self.records for k in r.params))
        self.columns = [*FIXED_COLUMNS, *names, *TAIL_COLUMNS]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(self.columns))
        self.table.setHorizontalHeaderLabels([metric if c == "objective" else c for c in self.columns])
        self.table.setRowCount(len(self.records))
        for row, r in enumerate(self.records):
            cells = [NumberItem(str(r.number), r.number), NumberItem(r.state),
                     NumberItem("" if r.value is None else format_metric(metric, r.value), r.value)]
            cells += [NumberItem(fmt_value(r.params.get(n, "")), r.params.get(n)) for n in names]
            cells += [NumberItem(f"{r.n_params:,}" if r.n_params else "", r.n_params),
                      NumberItem(f"{r.macs:,}" if r.macs else "", r.macs),
                      NumberItem(f"{r.seconds:.1f}" if r.seconds is not None else "", r.seconds),
                      NumberItem(r.run_id or "")]
            for col, cell in enumerate(cells):
                cell.setData(Qt.ItemDataRole.UserRole, r.run_id)
                if r.problem:
                    cell.setToolTip(r.problem)
                self.table.setItem(row, col, cell)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.apply_filter()
        if not self._views_made:
            if not self.records:
                return  # nothing to plot yet
            self._make_views()
        self.best_view.show_records(self.records, direction, metric)
        self.pareto_view.show_records(self.records, direction, metric)
        self.parallel_view.show_records(self.records, direction, metric)
        if importances is not None:
            self.importance_view.show_importances(importances)
        if not self.is_running() and self.records and importances is None:
            self.refresh_importances()

    def refresh_importances(self) -> None:
        from dlstudio.search.space import SearchError
        from dlstudio.search.study import importances, load_study

        self._make_views()
        try:
            self.importance_view.show_importances(importances(load_study(self.project)))
        except SearchError:
            self.importance_view.show_importances({})

    def apply_filter(self, *_args) -> None:
        needle = self.filter.text().strip().lower()
        for row in range(self.table.rowCount()):
            text = " ".join(self.table.item(row, c).text().lower() for c in range(self.table.columnCount())
                            if self.table.item(row, c) is not None)
            self.table.setRowHidden(row, bool(needle) and needle not in text)

    def selected_runs(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        runs = [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]
        return [r for r in runs if r]

    def select_trials(self, numbers: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if int(self.table.item(row, 0).text()) in numbers:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.diff_button.setEnabled(len(runs) == 2)
        self.open_button.setEnabled(len(runs) == 1)

    def open_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            self.open_run_requested.emit(runs[0])

    def diff_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 2:
            self.diff_requested.emit(runs[0], runs[1])

    def closeEvent(self, event) -> None:
        if self.worker is not None and self.worker.is_running():
            self.worker.stop()
            self.worker.wait(60_000)
        super().closeEvent(event)
