"""Export a trained run (or a project's graph) in one of the formats of :mod:`dlstudio.export.formats`.

The one function the command line and the GUI's export dialog both call. A model
export is checked before it is reported done: the written file is loaded back in
its own runtime (ONNX Runtime, the TFLite interpreter, TensorFlow, Keras) and
must predict what the Keras model predicts on real samples of the run's dataset.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.data.paths import base_folder
from dlstudio.export.formats import ExportError, check_target, get_format, staged

Progress = Callable[[str], None]


@dataclass
class ExportResult:
    path: Path
    format: str
    run_id: str | None = None
    #: Largest absolute difference between the export's and Keras' outputs (None: not checked).
    max_difference: float | None = None
    samples_checked: int = 0
    notes: list[str] = field(default_factory=list)
    #: float vs int8 (size, metric, latency) of a quantized export (:mod:`dlstudio.export.quantize`).
    comparison: Any = None

    def summary(self) -> str:
        size = _size(self.path)
        text = f"exported {self.format} to {self.path} ({size})"
        if self.max_difference is not None:
            text += (f"; checked on {self.samples_checked} samples: outputs match Keras within "
                     f"{self.max_difference:.1e}")
        if self.comparison is not None:
            text = text.replace(f"exported {self.format}", f"exported int8 {self.format}", 1)
            text += f"; run in {self.comparison.runtime} beside the float model:\n{self.comparison.table()}"
        return text


def _size(path: Path) -> str:
    n = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


def export_run(project: Any, run: Any | None, fmt: str, output: str | os.PathLike, *, which: str = "last",
               force: bool = False, verify: bool = True, progress: Progress = lambda _m: None,
               quantize: str | None = None) -> ExportResult:
    """Write run ``run`` of ``project`` (a Project or a .dlsproj path) as ``fmt`` to ``output``.
    ``run``: a Run, a run folder, an id, a unique id prefix or 'last'; None means 'last', except
    for the pictures (png, svg), which then draw the project's graph as it is now.

    Raises ExportError (bad target, unsupported layer: named, with the reason) or
    EvaluationError / DatasetError / FileNotFoundError (no such run, no weights).
    ``quantize="int8"`` (tflite, keras): an int8 export, compared with the float model
    (``result.comparison``; :mod:`dlstudio.export.quantize`)."""
    from dlstudio.runs import as_project
    from dlstudio.runs import find_run
    from dlstudio.runs import load_run_model, run_graph

    from dlstudio.export.quantize import check_request

    spec = get_format(fmt)
    check_request(spec.key, quantize)
    path = check_target(output, spec, force)
    project = as_project(project)
    if not spec.needs_run and run is None:  # a picture of the project's graph as it is now
        render_graph_image(project.graph, path, spec.key)
        return ExportResult(path, spec.key)
    run = find_run(project, "last" if run is None else run)
    graph = run_graph(run)
    if not spec.needs_run:
        render_graph_image(graph, path, spec.key)
        return ExportResult(path, spec.key, run.id)
    if spec.key == "python":
        return _export_script(project, run, graph, path)
    progress(f"loading run {run.id}")
    model = load_run_model(run, which)
    result = ExportResult(path, spec.key, run.id)
    from dlstudio.export import models

    if quantize is not None:
        from dlstudio.export.quantize import export_quantized

        return export_quantized(project, run, model, graph, spec.key, path, result, progress, verify)

    if spec.key == "keras":
        progress("writing the .keras file")
        models.write_keras(model, path)
        served = model
    else:
        served, dropped = models.inference_model(model, graph)
        if dropped:
            result.notes.append(f"left out {', '.join(dropped)}: {'they act' if len(dropped) > 1 else 'it acts'} "
                                "only while training")
        progress(f"converting to {spec.title}")
        if spec.key == "savedmodel":
            models.write_saved_model(served, path)
        elif spec.key == "onnx":
            models.write_onnx(served, path)
        else:
            result.notes += models.write_tflite(served, path)
    if verify:
        progress("checking the export in its own runtime")
        _verify(project, run, model, served, spec, path, result)
    return result


def sample_inputs(project: Any, run: Any, model: Any, n: int = 8) -> list[list[np.ndarray]]:
    """Sets of inputs to check an export on (:func:`dlstudio.export.samples.input_sets`): up to
    ``n`` test samples of the run's dataset where they fit the model, random ones of the model's
    real shapes otherwise, and other lengths where the model has variable-length inputs."""
    from dlstudio.export.samples import input_sets
    from dlstudio.runs import dataset_for_run

    data = None
    try:
        loaded = dataset_for_run(project, run)
        x = loaded.x_test if len(loaded.x_test) else loaded.x_train
        data = list(x) if isinstance(x, (list, tuple)) else [x]
    except Exception:  # noqa: BLE001, S110 - any dataset problem: random inputs instead
        pass
    return input_sets(model, n, data)


def _verify(project: Any, run: Any, model: Any, served: Any, spec: Any, path: Path, result: ExportResult) -> None:
    from dlstudio.export.verify import (
        RUNNERS,
        RuntimeMissing,
        agrees,
        keras_outputs,
        max_difference,
    )
    from dlstudio.backend import silenced_stderr

    worst, checked = 0.0, 0
    for inputs in sample_inputs(project, run, model):
        expected = keras_outputs(model, inputs)
        try:
            with silenced_stderr():  # runtimes log their start-up on the C++ side
                got = RUNNERS[spec.key](path, inputs)
        except RuntimeMissing as exc:
            result.notes.append(f"not checked: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - the runtime refused the file
            _remove(path)
            from dlstudio.export.layer_errors import describe_failure

            raise ExportError(describe_failure(exc, served, f"{spec.title} (its runtime cannot run the result)")) \
                from None
        diff = max_difference(expected, got)
        if not agrees(expected, got):
            _remove(path)
            shapes = ", ".join(str(tuple(np.shape(g))) for g in got)
            raise ExportError(f"the {spec.title} export predicts differently from the Keras model (largest "
                              f"difference {diff:.3g}, output shapes {shapes}, inputs shaped "
                              f"{', '.join(str(x.shape[1:]) for x in inputs)}); nothing was written")
        worst, checked = max(worst, diff), checked + len(inputs[0])
    result.max_difference, result.samples_checked = worst, checked


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _export_script(project: Any, run: Any, graph: Any, path: Path) -> ExportResult:
    from dlstudio.export.python_script import python_script
    from dlstudio.training.engine import TrainingError, choose_loss
    from dlstudio.runs import dataset_for_run

    settings = dict(run.info.get("settings") or project.training.model_dump())
    dataset = dataset_for_run(project, run)
    from dlstudio.compile import analyze, model_io

    analysis = analyze(graph)
    outputs = model_io(graph, analysis)[1] if not analysis.errors else []
    if not outputs:
        raise ExportError(f"run {run.id}: its graph does not compile, so there is no model to write as Python")
    try:
        loss, metrics = choose_loss(graph, outputs[0], analysis.nodes[outputs[0]].output_shape, dataset,
                                    settings.get("loss", "auto"), settings.get("metrics") or ("auto",))
    except TrainingError as exc:
        raise ExportError(f"run {run.id}: {exc}") from None
    options = run.info.get("dataset_options", dict(project.dataset.options))
    source = f"{Path(project.path).name if project.path else project.name}, run {run.id}"
    text = python_script(graph, settings=settings, dataset_name=project.dataset.name, dataset_options=dict(options),
                         loss=loss, metrics=list(metrics), title=project.name, source=source,
                         script_name=path.name, notes=project.notes, data_folder=base_folder(project))
    with staged(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        mode = tmp.stat().st_mode
        tmp.chmod(mode | (mode & 0o444) >> 2)  # executable where readable: ./model.py runs it
    return ExportResult(path, "python", run.id)


def render_graph_image(graph: Any, path: Path, kind: str) -> None:
    """Draw ``graph`` as the canvas does, in a child process that runs the Qt bridge
    (:mod:`dlstudio.qt.graph_image`): the core never loads Qt itself."""
    if getattr(sys, "frozen", False):
        raise ExportError("the bundled app draws the graph from its window: File > Export > Graph as "
                          f"{kind.upper()}")
    import json

    with tempfile.TemporaryDirectory(prefix="dlstudio-graph-") as tmp, staged(path) as target:
        graph_file = Path(tmp) / "graph.json"
        graph_file.write_text(json.dumps(graph.to_dict()), encoding="utf-8")
        env = dict(os.environ)
        if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            env.setdefault("QT_QPA_PLATFORM", "offscreen")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        done = subprocess.run([sys.executable, "-m", "dlstudio.qt.graph_image", str(graph_file), kind,
                               str(target)], capture_output=True, text=True, env=env, timeout=300, check=False)
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            raise ExportError(f"could not draw the graph: {lines[-1] if lines else f'exit code {done.returncode}'}")
