"""Loading and saving ``.dlsproj`` project files.

Load: read (size limit, UTF-8) -> parse JSON -> check ``format_version`` ->
migrate -> validate with the pydantic schema -> semantic checks (ids, edges,
layer types, parameter values) -> build the :class:`~dlstudio.graph.Graph`.
Every problem found is collected into one :class:`ProjectError`; loading never
writes anything. Saving is atomic and writes pretty, stably ordered JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from psygnal import Signal

from dlstudio.graph.model import Graph, GraphError
from dlstudio.bounded import LimitError, check_json_text, open_regular, regular_file
from dlstudio.atomic import atomic_write_text
from dlstudio.project.migrate import MigrationError, migrate
from dlstudio.project.schema import (
    FORMAT_VERSION, DatasetRef, GanSettings, TrainingSettings, plain_json_problems, validate_document,
)
from dlstudio.project.search_schema import SearchSettings
from dlstudio.errors import DLStudioError

SUFFIX = ".dlsproj"
MAX_FILE_BYTES = 50 * 1024 * 1024
#: ``str(ProjectError)`` lists at most this many problems (``.problems`` has all).
MAX_LISTED = 100


class ProjectError(DLStudioError):
    """A project that cannot be opened (or saved), with every problem found.

    ``problems`` are one-line strings, each starting with where in the file
    the problem is (``graph.nodes[3] (id 'n4', 'fc1').params.units: ...``).
    """

    def __init__(
        self, problems: list[str], path: str | Path | None = None,
        source: str | None = None, action: str = "open",
    ):
        self.path = Path(path) if path is not None else None
        self.problems = list(problems)
        self.source = source or (self.path.name if self.path is not None else "<string>")
        self.action = action
        super().__init__(self._message())

    def _message(self) -> str:
        lines = [f"Cannot {self.action} {self.source}:"]
        lines += [f"  - {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more problems")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self):  # picklable, e.g. across a process pool
        return (type(self), (self.problems, self.path, self.source, self.action))


#: The project settings that are evented: assigning one emits ``settings_changed(name)``.
EVENTED_SETTINGS = frozenset({"name", "notes", "dataset", "training", "gan", "search"})
_UNSET = object()


@dataclass(eq=False)
class Project:
    """An open project: the graph plus what is needed to train it.

    Settings change by assignment (``project.training = new_settings``; the pydantic
    models are treated as values) and every assignment of a changed value emits
    ``settings_changed`` with the setting's name ("dataset", "training", "gan",
    "notes", "name"), as the Graph emits its own edits; whoever shows a setting
    subscribes to that instead of re-reading the project."""

    settings_changed: ClassVar[Signal] = Signal(str)

    path: Path | None = None
    name: str = "Untitled"
    notes: str = ""
    graph: Graph = field(default_factory=Graph)
    dataset: DatasetRef = field(default_factory=DatasetRef)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    #: More named graphs beside ``graph`` (a GAN's discriminator); saved only when there are any.
    graphs: dict[str, Graph] = field(default_factory=dict)
    #: GAN settings (dlstudio.gan): set for a GAN project, None otherwise.
    gan: GanSettings | None = None
    #: The search space of experiments (dlstudio.search): saved only when set.
    search: SearchSettings | None = None

    def __copy__(self) -> Project:
        """A shallow copy with its own (unconnected) settings_changed."""
        return Project(**{f.name: getattr(self, f.name) for f in fields(self)})

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name, _UNSET) if name in EVENTED_SETTINGS else _UNSET
        object.__setattr__(self, name, value)
        if old is not _UNSET and old != value:
            self.settings_changed.emit(name)


def new_project(name: str = "Untitled") -> Project:
    """An empty project with default dataset and training settings."""
    return Project(name=name)


# ------------------------------------------------------------------- loading
def load_project(path: str | Path) -> Project:
    """Open a project file; raises :class:`ProjectError` listing every problem."""
    path = Path(path)
    text = _read_text(path)
    project = project_from_json(text, source=path.name, path=path)
    project.path = path
    return project


def project_from_json(text: str, source: str = "<string>", path: Path | None = None) -> Project:
    """A project from the text of a ``.dlsproj`` file."""
    return _from_dict(_parse(text, source, path), source, path)


def project_from_dict(data: Any, source: str = "<string>") -> Project:
    """A project from an already parsed document (``data`` is not modified)."""
    return _from_dict(data, source, None)


def _read_text(path: Path) -> str:
    def fail(problem: str) -> ProjectError:
        return ProjectError([problem], path)

    try:
        if path.is_dir():
            raise fail("this is a folder, not a project file")
        size = regular_file(path, "project file").st_size  # never a device (/dev/zero), a pipe, a socket
    except LimitError as e:
        raise fail(str(e).split(": ", 1)[-1]) from None
    except FileNotFoundError:
        raise fail(f"the file does not exist ({path})") from None
    except OSError as e:
        raise fail(f"the file cannot be read: {e.strerror or e}") from None
    if size > MAX_FILE_BYTES:
        raise fail(_too_big(size))
    try:
        with open_regular(path, "project file") as fh:
            raw = fh.read(min(size, MAX_FILE_BYTES) + 1)
    except OSError as e:
        raise fail(f"the file cannot be read: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(_too_big(len(raw)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise fail(
            f"line {line}, column {col}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
            "a project file is UTF-8 encoded JSON"
        ) from None


def _too_big(size: int) -> str:
    return (f"the file is {size / 1e6:.0f} MB; project files over "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB are refused (is this really a project?)")


def _parse(text: str, source: str, path: Path | None) -> Any:
    def fail(problem: str) -> ProjectError:
        return ProjectError([problem], path, source)

    if not text.strip():
        raise fail("the file is empty")
    try:
        check_json_text(text, "the file")  # before parsing: what parsing would allocate
    except LimitError as e:
        raise fail(str(e).removeprefix("the file: ")) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(f"line {e.lineno}, column {e.colno}: not valid JSON: {e.msg}") from None
    except RecursionError:
        raise fail("not valid project JSON: nested too deeply") from None
    except ValueError as e:  # e.g. an integer with more than 4300 digits
        raise fail(f"not valid JSON: {e}") from None


def _from_dict(data: Any, source: str, path: Path | None) -> Project:
    def fail(problems: list[str]) -> ProjectError:
        return ProjectError(problems, path, source)

    if not isinstance(data, dict):
        raise fail([f"the file holds {_kind(data)}, not a project (a JSON object)"])
    problems = plain_json_problems(data)
    if problems:
        raise fail(problems)
    try:
        data = migrate(data)
    except MigrationError as e:
        raise fail([str(e)]) from None
    model, problems = validate_document(data)
    if problems or model is None:
        raise fail(problems or ["the project is not valid"])
    graph = Graph()
    try:
        for n in model.graph.nodes:
            graph.add_node(n.type, n.params, name=n.name, pos=(n.pos[0], n.pos[1]), id=n.id)
        for e in model.graph.edges:
            graph.add_edge(e.src, e.src_port, e.dst, e.dst_port, id=e.id)
        for b in model.graph.blocks:
            graph.add_block(b.name, b.nodes, id=b.id, collapsed=b.collapsed,
                            params={k: [tuple(t) for t in v] for k, v in b.params.items()}, source=b.source)
    except GraphError as e:  # the checks above should have caught it
        raise fail([f"graph: {e}"]) from None
    graphs = {}
    for name, sub in model.graphs.items():
        try:
            graphs[name] = Graph.from_dict(sub.model_dump())
        except GraphError as e:
            raise fail([f"graphs.{name}: {e}"]) from None
    return Project(path=path, name=model.name, notes=model.notes, graph=graph,
                   dataset=model.dataset, training=model.training, graphs=graphs, gan=model.gan,
                   search=model.search)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


# -------------------------------------------------------------------- saving
def project_to_dict(project: Project) -> dict[str, Any]:
    """The document for ``project`` in the current format, keys in file order."""
    graph = project.graph.to_dict()
    for node in graph["nodes"]:
        node["params"] = _sorted(node["params"])
    doc = {
        "format_version": FORMAT_VERSION,
        "name": project.name,
        "notes": project.notes,
        "graph": graph,
        "dataset": {"name": project.dataset.name, "options": _sorted(project.dataset.options)},
        "training": project.training.model_dump(mode="python"),
    }
    if project.graphs:  # only GAN-like projects carry these keys: other files stay as they were
        doc["graphs"] = {name: {**g.to_dict(), "nodes": [{**n, "params": _sorted(n["params"])}
                                                        for n in g.to_dict()["nodes"]]}
                         for name, g in project.graphs.items()}
    if project.gan is not None:
        doc["gan"] = project.gan.model_dump(mode="python")
    if project.search is not None:  # only projects with a search space carry it
        doc["search"] = project.search.to_document()
    return doc


def project_to_json(project: Project) -> str:
    """The text of a ``.dlsproj`` file: 2-space indented JSON, one final newline."""
    return _dump(project_to_dict(project), 0) + "\n"


def save_project(project: Project, path: str | Path | None = None) -> Path:
    """Write ``project`` atomically to ``path`` (default: ``project.path``).

    A project that could not be opened again (a NaN position, a parameter of
    the wrong type) is refused with a :class:`ProjectError` (``action`` =
    "save") and nothing is written; on success ``project.path`` is set.
    """
    target = Path(path) if path is not None else project.path
    if target is None:
        raise ValueError("the project has no path yet: give one to save it")
    try:
        text = project_to_json(project)
    except (TypeError, ValueError, RecursionError) as e:
        raise ProjectError([f"cannot be written as JSON: {e}"], target, action="save") from e
    try:
        _from_dict(json.loads(text), target.name, target)
    except ProjectError as e:
        raise ProjectError(e.problems, target, action="save") from None
    atomic_write_text(target, text)
    project.path = target
    return target


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value


_SCALARS = (str, int, float, bool, type(None))


def _dump(value: Any, level: int) -> str:
    """JSON with a 2-space indent; short lists of plain values stay on one line
    (``"shape": [8, 8, 1]``). NaN and infinity are refused (ValueError)."""
    if isinstance(value, _SCALARS):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"keys must be text, got {k!r}")
            items.append(f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, level + 1)}")
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        parts = [_dump(v, level + 1) for v in value]
        if all(isinstance(v, _SCALARS) for v in value):
            flat = "[" + ", ".join(parts) + "]"
            if len(flat) + len(inner) <= 80:
                return flat
        return "[\n" + ",\n".join(inner + p for p in parts) + "\n" + pad + "]"
    if hasattr(value, "tolist"):  # numpy scalars and arrays that slipped into params
        return _dump(value.tolist(), level)
    raise TypeError(f"{type(value).__name__} values cannot be saved")
