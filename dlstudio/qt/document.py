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
from dlstudio.qt.keras_loader import catalog_ready, keras_ready, loader
from dlstudio.qt.project_data import ProjectData


class Document(QObject):
    analysis_changed = Signal(object)  # Analysis
    modified_changed = Signal(bool)
    path_changed = Signal(object)  # Path | None
    selection_requested = Signal(list)  # node ids to select and centre
    #: The project's runs changed on disk (a training saved or finished one, runs moved home).
    runs_changed = Signal()
    #: A project setting changed ("dataset", "training", "gan", "notes", "name"): by an
    #: edit, its undo or redo (Project.settings_changed, forwarded on the GUI thread).
    settings_changed = Signal(str)
    #: A training of this project ended with a new run: run panels show it (their choice
    #: goes back to "Latest run").
    run_finished = Signal(str)  # the run id

    def __init__(self, project: Project | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project or new_project()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.analysis: Analysis | None = None
        #: The project's dataset, loaded in the background (or handed over by the data panel),
        #: so the shape pass can say where the model does not fit it.
        self.project_data = ProjectData(self)
        self.project_data.changed.connect(self.schedule_analysis)
        #: Whether the dataset's samples feed this graph's Input (False: a GAN generator, fed with noise).
        self.takes_dataset = True
        #: More checks for the shape pass: callables ``Analysis -> list[Problem]`` (a GAN's checks across graphs).
        self.problem_sources: list = []
        from dlstudio.compile.shape_store import shape_store

        #: Answers from the shape store on disk until Keras has loaded (then Keras, kept there).
        self._inference = ShapeInference(store=shape_store())
        self._scratch = None  # RunStore of an unsaved project's runs, made on first use
        self.project.settings_changed.connect(self.settings_changed.emit)
        self.settings_changed.connect(self._setting_changed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.analyze_now)
        g = self.graph
        for sig in (g.node_added, g.node_removed, g.edge_added, g.edge_removed, g.params_changed,
                    g.node_renamed):
            sig.connect(self._graph_changed)
        loader().catalog_loaded.connect(self.schedule_analysis)
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
        """Save atomically; raises ProjectError with the reasons if it cannot. The first
        save moves the runs trained so far (in the scratch folder) to ``NAME.runs/``."""
        old = self.project.path
        saved = save_project(self.project, path)
        self.undo_stack.setClean()
        if saved != old:
            self.adopt_scratch_runs()
            self.path_changed.emit(saved)
        return saved

    # ------------------------------------------------------------------ runs
    @property
    def runs(self):
        """The RunStore of this project: ``NAME.runs/`` once it has a file, before that a
        scratch folder of its own under the config folder (moved home on the first save)."""
        from dlstudio.runs import RunStore, scratch_store

        if self.project.path is not None:
            return RunStore.of_project(self.project.path)
        if self._scratch is None:
            from dlstudio.qt.settings import config_dir

            self._scratch = scratch_store(config_dir() / "unsaved-runs", self.title)
        return self._scratch

    def notify_runs_changed(self, finished: str | None = None) -> None:
        """A run was created or saved (``finished``: the id of a run a training just
        ended): panels listing runs read them again."""
        self.runs_changed.emit()
        if finished:
            self.run_finished.emit(finished)

    def adopt_scratch_runs(self) -> list[Path]:
        """Move the runs trained before the first save into ``NAME.runs/`` (a run that is
        still training stays until it ends, then moves). Returns the moved run folders."""
        from dlstudio.runs import adopt_runs

        if self._scratch is None or self.project.path is None:
            return []
        moved = adopt_runs(self._scratch.folder, self.runs.folder, skip_running=True)
        if not self._scratch.folder.exists():
            self._scratch = None
        if moved:
            self.runs_changed.emit()
        return moved

    def _setting_changed(self, name: str) -> None:
        if name in ("dataset", "training", "gan"):  # the data, the loss or a GAN's roles are checked too
            self.schedule_analysis()

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    # --------------------------------------------------------------- analysis
    def _graph_changed(self, *args) -> None:
        self.schedule_analysis()

    def schedule_analysis(self) -> None:
        if catalog_ready():
            self._timer.start()

    @property
    def dataset(self):
        """The loaded dataset of the project (None while it is not known)."""
        return self.project_data.dataset

    def set_dataset(self, dataset) -> None:
        """The dataset the project's current choice loads (None: unknown yet)."""
        self.project_data.set(dataset)

    #: Which of the project's graphs this document edits (a GAN's discriminator is another one).
    graph_name = "main"

    def data_role(self) -> str | None:
        """How this graph meets the dataset: "model" (samples and labels), "samples" (a GAN's
        discriminator) or None (a GAN's generator, fed with noise); see gan.project.data_role."""
        from dlstudio.gan.project import data_role

        return data_role(self.project, self.graph_name) if self.takes_dataset else None

    def data_description(self):
        """What the shape pass checks the graph against: the project's data, or None
        (not loaded yet, or a graph that takes no dataset, a GAN's generator)."""
        return self.project_data.description() if self.data_role() else None

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
        """Shapes and problems of the graph now: before Keras has loaded, what the shape store
        knows (the rest pending, analysed again when Keras is ready)."""
        if not catalog_ready():
            return None
        self.project_data.ensure()  # the project's dataset changed: load it (the analysis follows)
        self.analysis = self._inference.analyze(self.graph, self.data_description(), loss=self.project.training.loss,
                                                targets=self.data_role() == "model", keras=keras_ready())
        for source in self.problem_sources:
            self.analysis.problems.extend(source(self.analysis))
        self.graph.set_annotations(self.analysis.nodes)
        self.analysis_changed.emit(self.analysis)
        return self.analysis
