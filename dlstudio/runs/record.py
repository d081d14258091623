"""The schema of a run record (``run.json``), like the project's (:mod:`dlstudio.project.schema`).

A run folder may be damaged or hand-edited: ``run.json`` is read with the bounded JSON
reader (size and nesting limits) and validated here before anything uses it. A field of
the wrong type gives a message that names the file and the field (``run.json:
settings.seed: ...``), and only that run is refused: the other runs of the project list
and load as before. Fields DL Studio does not know are kept as they are.

Whether a run whose record says "running" still runs is decided from the process that
wrote it (``pid``, ``pid_start``, ``host``): a training killed mid-way reads as
"interrupted".
"""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dlstudio.runs.errors import RunError

Text = Annotated[str, Field(max_length=10_000)]
Count = Annotated[int, Field(ge=0, le=10**12)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Positive = Annotated[int, Field(ge=1, le=10**9)]

#: The status a record says "running" with while its process is gone.
INTERRUPTED = "interrupted"


class RunDamaged(RunError):
    """A run folder whose run.json cannot be used; the message names the file and the field."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class RecordedSettings(_Record):
    """The training settings a run recorded (older runs may lack some; unknown ones are kept)."""

    seed: Seed = 0
    epochs: Positive = 1
    batch_size: Positive = 32
    learning_rate: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] = 1e-3
    validation_split: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = 0.0
    optimizer: Annotated[str, Field(max_length=100)] = "adam"
    loss: Annotated[str, Field(max_length=100)] = "auto"
    metrics: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=100)] = ["auto"]
    adversarial: Annotated[str, Field(max_length=100)] | None = "none"


class RunRecord(_Record):
    """What ``run.json`` holds."""

    id: Text | None = None
    created: Text | None = None
    created_ns: Annotated[int, Field(ge=0, le=2**63)] | None = None
    updated: Text | None = None
    status: Annotated[str, Field(max_length=100)] = "unknown"
    kind: Annotated[str, Field(max_length=20)] | None = None
    dataset: Text | None = None
    dataset_options: dict[str, Any] = {}
    settings: RecordedSettings | None = None
    graph: dict[str, Any] | None = None
    generator_graph: dict[str, Any] | None = None
    discriminator_graph: dict[str, Any] | None = None
    gan: dict[str, Any] | None = None
    backend: Text | None = None
    epochs_done: Count = 0
    steps_done: Count = 0
    metrics: dict[str, float | None] = {}
    error: Text | None = None
    continued_from: Text | None = None
    optimizer_state: Text | None = None
    project: Text | None = None
    source: Text | None = None
    pid: Annotated[int, Field(ge=0)] | None = None
    pid_start: Annotated[int, Field(ge=0)] | None = None
    host: Text | None = None


def located(exc: ValidationError, where: str, limit: int = 3) -> str:
    """``where: settings.seed: Input should be a valid integer`` for the first errors."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(the whole record)"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (and {exc.error_count() - limit} more)" if exc.error_count() > limit else ""
    return f"{where}: " + "; ".join(parts) + more


def validate_record(data: Any, where: str) -> dict[str, Any]:
    """The record ``data`` (parsed run.json) checked against :class:`RunRecord`, as a plain
    dict with the values coerced (``"3"`` -> 3) and unknown fields kept; RunDamaged otherwise."""
    if not isinstance(data, dict):
        raise RunDamaged(f"{where}: holds {type(data).__name__}, not a run record (a JSON object)")
    try:
        record = RunRecord.model_validate(data)
    except ValidationError as exc:
        raise RunDamaged(located(exc, where)) from None
    return {**data, **record.model_dump(exclude_unset=True)}


# ------------------------------------------------------------------- the process of a run


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot; Linux), None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def writer_fields() -> dict[str, Any]:
    """What a run records about the process that writes it (see :func:`still_running`)."""
    pid = os.getpid()
    fields: dict[str, Any] = {"pid": pid, "host": socket.gethostname()}
    start = _start_time(pid)
    if start is not None:
        fields["pid_start"] = start
    return fields


def still_running(info: dict[str, Any]) -> bool:
    """Whether the process that wrote a "running" record is alive. A record of another
    machine, or of a DL Studio too old to say, is taken at its word."""
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        pass
    started = info.get("pid_start")
    now = _start_time(pid)
    return not (isinstance(started, int) and now is not None and now != started)
