"""Runs on disk: one folder per training, and where a project keeps them.

A run folder holds ``run.json`` (settings used, status, final metrics, the
graph snapshot), ``history.json`` (per-epoch metrics) and the weights. A saved
project ``NAME.dlsproj`` keeps its runs in ``NAME.runs/`` beside it; a project
without a file yet keeps them in a scratch folder (the app's config folder)
until its first save moves them home (:func:`adopt_runs`). A :class:`RunStore`
is that folder: listing, finding a run by reference, creating one. The list is
always read from disk, so it is what is there.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.bounded import LIMITS, LimitError, load_json
from dlstudio.atomic import (
    WriteError, atomic_write_json, fsync_folder, fsync_tree, is_temporary, write_error,
)
from dlstudio.runs.errors import NoRunsYet, RunNotFound
from dlstudio.runs.record import INTERRUPTED, RunDamaged, still_running, validate_record, writer_fields

RUN_FILE = "run.json"
HISTORY_FILE = "history.json"
WEIGHTS_FILE = "model.weights.h5"
BEST_WEIGHTS_FILE = "best.weights.h5"
GENERATOR_WEIGHTS_FILE = "generator.weights.h5"  # a GAN run's (beside discriminator.weights.h5)
RUNS_SUFFIX = ".runs"
#: References that are not ids: the newest run, and the run with the lowest test loss.
LAST, BEST = "last", "best"


def runs_dir(project_path: str | os.PathLike) -> Path:
    """``digits.dlsproj`` -> ``digits.runs`` in the same folder."""
    p = Path(project_path)
    return p.with_name(p.stem + RUNS_SUFFIX)


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
        """The recorded status; "interrupted" for a "running" record whose process is gone
        (a training killed mid-way: its files are those of its last checkpoint)."""
        status = self.info.get("status", "unknown")
        if status == "running" and not still_running(self.info):
            return INTERRUPTED
        return status

    @property
    def metrics(self) -> dict[str, float]:
        m = self.info.get("metrics", {})
        return m if isinstance(m, dict) else {}

    @property
    def kind(self) -> str:
        """"gan" for a GAN run (generator + discriminator), else "model"."""
        return "gan" if self.info.get("kind") == "gan" else "model"

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def trained(self) -> bool:
        """Whether the run has weights to look at (a finished, stopped or interrupted
        training that saved at least once; a GAN run: its generator's)."""
        return (self.path / (GENERATOR_WEIGHTS_FILE if self.kind == "gan" else WEIGHTS_FILE)).is_file()

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` into run.json and write it atomically (call it only after the
        files the new fields describe are complete: the record never claims more)."""
        if fields.get("status") == "running":
            fields = {**writer_fields(), **fields}
        self.info.update(fields)
        self.info["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        atomic_write_json(self.path / RUN_FILE, self.info)

    def write_history(self, history: dict[str, list[float]]) -> None:
        atomic_write_json(self.path / HISTORY_FILE, history)

    def history(self) -> dict[str, list[float]]:
        """The per-epoch metrics ({} when there are none or the file is damaged)."""
        try:
            data = load_json(self.path / HISTORY_FILE, LIMITS.history_bytes, "history file")
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, list)
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)}


def create_run(base: str | os.PathLike, info: dict[str, Any]) -> Run:
    """A new, uniquely named run folder under ``base`` with its run.json."""
    base = Path(base)
    if base.exists() and not base.is_dir():
        raise WriteError(errno.ENOTDIR, f"cannot keep runs in {base}: it is a file, not a folder "
                                        "(give --runs-dir a folder)")
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(base, exc) from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        path = base / f"{stamp}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise write_error(path, exc) from None
    extra = writer_fields() if info.get("status") == "running" else {}
    run = Run(path, {"id": path.name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                     "created_ns": time.time_ns(), **extra, **info})
    run.update()
    return run


def is_run_folder(path: str | os.PathLike) -> bool:
    path = Path(path)  # hidden folders are unfinished: a temporary write, a move half done (adopt_runs)
    return not is_temporary(path) and not path.name.startswith(".") and (path / RUN_FILE).is_file()


def open_run(path: str | os.PathLike) -> Run:
    """The run in folder ``path``: its run.json read with the bounded reader and validated
    (:mod:`dlstudio.runs.record`). RunNotFound when there is none, RunDamaged (naming the
    file and the field) when it cannot be used."""
    path = Path(path)
    where = path / RUN_FILE
    if not where.exists():
        raise RunNotFound(f"{path} is not a run folder: it has no run.json")
    try:
        data = load_json(where, LIMITS.json_bytes, "run record")
    except LimitError as exc:
        raise RunDamaged(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise RunDamaged(f"{where}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    return Run(path, validate_record(data, str(where)))


def list_runs(folder: str | os.PathLike) -> list[Run]:
    """The runs in a runs folder, oldest first (by creation time, then name: two runs
    started in the same second keep their order); unreadable folders are skipped."""
    base = Path(folder)
    if not base.is_dir():
        return []
    runs = []
    for child in base.iterdir():
        if is_run_folder(child):
            try:
                runs.append(open_run(child))
            except (RunNotFound, RunDamaged):  # a damaged run never hides the others
                continue
    return sorted(runs, key=lambda r: (r.id[:15], _created_ns(r), r.id))


def _created_ns(run: Run) -> int:
    value = run.info.get("created_ns")
    return value if isinstance(value, int) else 0


def best_of(runs: list[Run]) -> Run | None:
    """The trained run with the lowest test loss (None when no run recorded one)."""
    scored = [r for r in runs if r.trained and isinstance(r.metrics.get("test_loss"), (int, float))]
    return min(scored, key=lambda r: r.metrics["test_loss"]) if scored else None


@dataclass(frozen=True)
class RunStore:
    """Where one project's runs live. ``saved`` is False for a project without a file,
    whose runs wait in a scratch folder; ``name`` names the project in messages."""

    folder: Path
    name: str = "the project"
    saved: bool = True

    @classmethod
    def of_project(cls, project_path: str | os.PathLike) -> RunStore:
        p = Path(project_path)
        return cls(runs_dir(p), p.name, True)

    def runs(self, trained: bool = False, kind: str | None = None) -> list[Run]:
        """Oldest first; ``trained``: only runs with weights; ``kind``: "model" or "gan"."""
        return [r for r in list_runs(self.folder)
                if (not trained or r.trained) and (kind is None or r.kind == kind)]

    def latest(self, trained: bool = True, kind: str | None = None) -> Run | None:
        runs = self.runs(trained, kind)
        return runs[-1] if runs else None

    def create(self, info: dict[str, Any]) -> Run:
        return create_run(self.folder, info)

    def find(self, ref: Any = LAST, kind: str | None = None) -> Run:
        """A run by reference: a Run, the path of a run folder, an id, a unique id prefix,
        ``last`` (the newest run with weights) or ``best`` (the lowest test loss).
        NoRunsYet when there are none; RunNotFound naming the known runs otherwise."""
        if isinstance(ref, Run):
            return ref
        text = str(ref if ref is not None else LAST).strip()
        if text and (os.sep in text or "/" in text or text.startswith(".")):
            if not Path(text).exists():
                raise RunNotFound(f"there is no run folder at {text}")
            return open_run(text)
        runs = self.runs(kind=kind)
        if text not in ("", LAST, BEST) and not any(r.id == text for r in runs) \
                and is_run_folder(self.folder / text):
            open_run(self.folder / text)  # a damaged run of that name: RunDamaged with its own message
        if not runs:
            where = f" in {self.folder}" if self.saved else ""
            raise NoRunsYet(f"{self.name} has no runs yet{where}: train it first")
        if text in ("", LAST):
            trained = [r for r in runs if r.trained]
            return (trained or runs)[-1]
        if text == BEST:
            best = best_of(runs)
            if best is None:
                raise RunNotFound(f"no run of {self.name} recorded a test loss, so none is 'best'; "
                                  f"name a run (runs: {self._known(runs)})")
            return best
        matches = [r for r in runs if r.id == text] or [r for r in runs if r.id.startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise RunNotFound(f"{text!r} matches several runs of {self.name}: "
                              f"{', '.join(r.id for r in matches)}; give more of the id")
        raise RunNotFound(f"{text!r} is not a run of {self.name} (runs: {self._known(runs)})")

    @staticmethod
    def _known(runs: list[Run]) -> str:
        ids = [r.id for r in runs]
        return ", ".join(ids[-8:]) + (f" and {len(ids) - 8} older" if len(ids) > 8 else "")


def adopt_runs(source: str | os.PathLike, target: str | os.PathLike, skip_running: bool = False) -> list[Path]:
    """Move every run folder of ``source`` into ``target`` (a project's first save moves
    its scratch runs home). Each run moves whole: a rename where both folders share a
    file system, else a copy to a hidden name in ``target``, renamed when complete, and
    only then the source removed; an interrupted move leaves every run readable in one of
    the two places. ``skip_running``: leave runs whose run.json says "running" (a training
    still writing to its folder) for a later call. Returns the new run folders."""
    source, target = Path(source), Path(target)
    if not source.is_dir() or source.resolve() == target.resolve():
        return []
    moved = []
    for child in sorted(source.iterdir()):
        if not is_run_folder(child):
            continue
        if skip_running:
            try:
                if open_run(child).status == "running":
                    continue
            except (RunNotFound, RunDamaged):
                continue
        target.mkdir(parents=True, exist_ok=True)
        dest = target / child.name
        while dest.exists():
            dest = target / f"{child.name}-{secrets.token_hex(1)}"
        try:
            os.rename(child, dest)
        except OSError:  # another file system: copy, flush, then publish under the real name
            partial = target / f".{dest.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(child, partial)
            fsync_tree(partial)
            os.rename(partial, dest)
            fsync_folder(target)
            shutil.rmtree(child, ignore_errors=True)
        else:
            fsync_folder(target)
        moved.append(dest)
    try:
        source.rmdir()
    except OSError:
        pass
    return moved


def scratch_store(root: str | os.PathLike, title: str) -> RunStore:
    """A new scratch folder under ``root`` for the runs of a project without a file:
    one per open project, so two untitled projects never share their runs."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in (title or "Untitled")).strip("._") or "Untitled"
    folder = Path(root) / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}{RUNS_SUFFIX}"
    return RunStore(folder, f"“{title or 'Untitled'}”", saved=False)
