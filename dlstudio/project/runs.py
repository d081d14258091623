"""Runs: one folder per training, beside the project in ``NAME.runs/``.

A run folder holds ``run.json`` (settings used, status, final metrics),
``history.json`` (per-epoch metrics) and the weights. The project's list of
runs is read from that folder, so it is always what is on disk.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.project.atomic import atomic_write_json

RUN_FILE = "run.json"
HISTORY_FILE = "history.json"
WEIGHTS_FILE = "model.weights.h5"


def runs_dir(project_path: str | os.PathLike) -> Path:
    """``digits.dlsproj`` -> ``digits.runs`` in the same folder."""
    p = Path(project_path)
    return p.with_name(p.stem + ".runs")


@dataclass
class Run:
    """One training run on disk."""

    path: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        return self.info.get("status", "unknown")

    @property
    def metrics(self) -> dict[str, float]:
        return self.info.get("metrics", {})

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS_FILE

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` into run.json and write it atomically."""
        self.info.update(fields)
        self.info["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        atomic_write_json(self.path / RUN_FILE, self.info)

    def write_history(self, history: dict[str, list[float]]) -> None:
        atomic_write_json(self.path / HISTORY_FILE, history)

    def history(self) -> dict[str, list[float]]:
        try:
            return json.loads((self.path / HISTORY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def create_run(base: str | os.PathLike, info: dict[str, Any]) -> Run:
    """A new, uniquely named run folder under ``base`` with its run.json."""
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = base / f"{stamp}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    run = Run(path, {"id": path.name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **info})
    run.update()
    return run


def open_run(path: str | os.PathLike) -> Run:
    path = Path(path)
    try:
        info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"{path} is not a readable run folder ({exc})") from exc
    return Run(path, info if isinstance(info, dict) else {})


def list_runs(project_path: str | os.PathLike) -> list[Run]:
    """The runs of a project, oldest first; unreadable folders are skipped."""
    base = runs_dir(project_path)
    if not base.is_dir():
        return []
    runs = []
    for child in sorted(base.iterdir()):
        if (child / RUN_FILE).is_file():
            try:
                runs.append(open_run(child))
            except FileNotFoundError:
                continue
    return runs


def find_run(project_path: str | os.PathLike, run_id: str) -> Run:
    """A run by id, by unique id prefix, or 'last'."""
    runs = list_runs(project_path)
    if run_id == "last" and runs:
        return runs[-1]
    matches = [r for r in runs if r.id == run_id] or [r for r in runs if r.id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(r.id for r in runs) or "none yet"
    what = "matches several runs" if matches else "is not a run of this project"
    raise FileNotFoundError(f"{run_id!r} {what} (runs: {known})")
