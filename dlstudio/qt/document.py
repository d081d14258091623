"""The open project in the window: the Graph, its undo stack, its analysis.

The Document is the one object panels talk to. Edits go through
``push(command)``; the Graph's signals trigger a debounced shape pass, whose
result is announced with ``analysis_changed``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from dlstudio.compile.infer import Analysis, ShapeInference
from dlstudio.graph import Graph
from dlstudio.project import Project, new_project, save_project
from dlstudio.qt.keras_loader import keras_ready, loader
from dlstudio.qt.project_data import ProjectData


class Document(QObject):
    analysis_changed = Signal(object)  # Analysis
    modified_changed = Signal(bool)
    path_changed = Signal(object)  # Path | None
    selection_requested = Signal(list)  # node ids to select and centre

    def __init__(self, project: Project | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project or new_project()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.undo_stack.indexChanged.connect(self.schedule_analysis)  # the dataset or the loss may have changed
        self.analysis: Analysis | None = None
        #: The project's dataset, loaded in the background (or handed over by the data panel),
        #: so the shape pass can say where the model does not fit it.
        self.project_data = ProjectData(self)
        self.project_data.changed.connect(self.schedule_analysis)
        #: Whether the dataset's samples feed this graph's Input (False: a GAN generator, fed with noise).
        self.takes_dataset = True
        #: More checks for the shape pass: callables ``Analysis -> list[Problem]`` (a GAN's checks across graphs).
        self.problem_sources: list = []
        self._inference = ShapeInference()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.analyze_now)
        g = self.graph
        for sig in (g.node_added, g.node_removed, g.edge_added, g.edge_removed, g.params_changed,
                    g.node_renamed):
            sig.connect(self._graph_changed)
        loader().ready.connect(self.schedule_analysis)
        self.schedule_analysis()

    # ------------------------------------------------------------------ state
    @property
    def graph(self) -> Graph:
        return self.project.graph

    @property
    def path(self) -> Path | None:
        return self.project.path

    @property
    def title(self) -> str:
        return self.project.path.stem if self.project.path else self.project.name

    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically; raises ProjectError with the reasons if it cannot."""
        old = self.project.path
        saved = save_project(self.project, path)
        self.undo_stack.setClean()
        if saved != old:
            self.path_changed.emit(saved)
        return saved

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    # --------------------------------------------------------------- analysis
    def _graph_changed(self, *args) -> None:
        self.schedule_analysis()

    def schedule_analysis(self) -> None:
        if keras_ready():
            self._timer.start()

    @property
    def dataset(self):
        """The loaded dataset of the project (None while it is not known)."""
        return self.project_data.dataset

    def set_dataset(self, dataset) -> None:
        """The dataset the project's current choice loads (None: unknown yet)."""
        self.project_data.set(dataset)

    def data_description(self):
        """What the shape pass checks the graph against: the project's data, or None
        (not loaded yet, or a graph that takes no dataset, a GAN's generator)."""
        return self.project_data.description() if self.takes_dataset else None

    def new_node_params(self, type_name: str) -> dict:
        """Parameters of a layer the user adds: an Input takes the shape (and dtype) of the
        project's samples, so a new model starts consistent with its dataset."""
        data = self.data_description()
        if type_name != "Input" or data is None:
            return {}
        return {"shape": list(data.input_shape), **({"dtype": data.input_dtype} if data.input_dtype != "float32"
                                                     else {})}

    def apply_fix(self, fix) -> None:
        """Apply a problem's Fix as one undoable step."""
        from dlstudio.qt.editor.commands import ApplyFixCommand

        self.push(ApplyFixCommand(self, fix))

    def analyze_now(self) -> Analysis | None:
        if not keras_ready():
            return None
        self.project_data.ensure()  # the project's dataset changed: load it (the analysis follows)
        self.analysis = self._inference.analyze(self.graph, self.data_description(), loss=self.project.training.loss,
                                                targets=self.project.gan is None)
        for source in self.problem_sources:
            self.analysis.problems.extend(source(self.analysis))
        self.graph.set_annotations(self.analysis.nodes)
        self.analysis_changed.emit(self.analysis)
        return self.analysis
