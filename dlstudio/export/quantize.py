"""int8 exports, and what they cost and save: size, the project's metric and latency, float vs int8.

TFLite: full-integer post-training quantization (every operation int8, float32 in and out)
calibrated on a representative sample of the project's own training split, then run in
LiteRT beside the float TFLite model on the test split. Keras: Keras 3's own
``model.quantize("int8")`` (int8 weights of the layers Keras quantizes), saved as .keras and
run in Keras beside the float model. A layer that cannot be quantized is named.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.export.formats import ExportError, staged

#: Formats ``--quantize int8`` applies to.
QUANTIZABLE = ("tflite", "keras")
#: Training samples that calibrate the int8 ranges; test samples the metric is measured on;
#: single-sample runs the median latency is taken over.
CALIBRATION_SAMPLES = 200
METRIC_SAMPLES = 2000
LATENCY_RUNS = 100


@dataclass(frozen=True)
class Variant:
    """One side of the comparison."""

    size_bytes: int
    metric: float | None  # accuracy (0..1) or mean absolute error; None without labelled data
    latency_ms: float  # median per sample, batch of one, in the format's runtime

    def as_dict(self) -> dict[str, Any]:
        return {"size_bytes": self.size_bytes, "metric": self.metric, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class Comparison:
    """float vs int8 of one export; ``metric``: "accuracy" or "mae" (what the project measures)."""

    metric: str
    float: Variant
    int8: Variant
    runtime: str
    samples: int

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "runtime": self.runtime, "samples": self.samples,
                "float": self.float.as_dict(), "int8": self.int8.as_dict(),
                "size_ratio": self.int8.size_bytes / self.float.size_bytes if self.float.size_bytes else None}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The table: header, then float and int8: model, size, metric, latency."""
        name = "accuracy" if self.metric == "accuracy" else "mean abs. error"
        out = [("model", "size", f"test {name}", "latency / sample")]
        for label, v in (("float32", self.float), ("int8", self.int8)):
            out.append((label, _size(v.size_bytes), _metric(self.metric, v.metric), _ms(v.latency_ms)))
        return out

    def table(self) -> str:
        rows = self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines) + f"\n({self.runtime}, metric on {self.samples} test samples)"


def _ms(ms: float) -> str:
    return f"{ms * 1000:.1f} \u00b5s" if ms < 1 else f"{ms:.2f} ms"


def _size(n: int) -> str:
    return f"{n / 1000:.1f} KB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"


def _metric(kind: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.2f}%" if kind == "accuracy" else f"{value:.4g}"


# ------------------------------------------------------------------ data


@dataclass
class Samples:
    calibration: list[np.ndarray]
    x_test: list[np.ndarray]
    y_test: np.ndarray | None
    task: str  # classification | regression | unknown


def project_samples(project: Any, run: Any, model: Any) -> Samples:
    """Calibration samples from the training split, test samples and labels, of the run's dataset;
    random inputs of the model's shapes (and no metric) where the dataset does not fit the model."""
    from dlstudio.export.samples import as_model_dtypes, fits, input_sets
    from dlstudio.runs import dataset_for_run

    try:
        data = dataset_for_run(project, run)
    except Exception:  # noqa: BLE001 - no dataset: calibrate on random inputs, no metric
        data = None
    if data is not None:
        train = list(data.x_train) if isinstance(data.x_train, (list, tuple)) else [data.x_train]
        test = list(data.x_test) if isinstance(data.x_test, (list, tuple)) else [data.x_test]
        if fits(train, model) and len(test[0]) and fits(test, model):
            rng = np.random.default_rng(0)
            pick = rng.permutation(len(train[0]))[:CALIBRATION_SAMPLES]
            n = min(METRIC_SAMPLES, len(test[0]))
            return Samples(as_model_dtypes([a[pick] for a in train], model),
                           as_model_dtypes([a[:n] for a in test], model), np.asarray(data.y_test[:n]), data.task)
    xs = input_sets(model, n=CALIBRATION_SAMPLES)[0]
    return Samples(xs, xs, None, "unknown")


def metric_of(task: str, predictions: np.ndarray, labels: np.ndarray | None) -> tuple[str, float | None]:
    """("accuracy", share right) for a classifier, ("mae", mean absolute error) otherwise."""
    if labels is None:
        return ("accuracy" if task == "classification" else "mae"), None
    p = np.asarray(predictions, np.float64)
    if task == "classification":
        if p.ndim >= 2 and p.shape[-1] > 1:
            guess = p.argmax(-1)
        else:
            guess = (p.reshape(len(p), -1)[:, 0] > (0.5 if p.min() >= 0 else 0.0)).astype(int)
        return "accuracy", float(np.mean(guess.reshape(-1) == np.asarray(labels).reshape(-1)))
    return "mae", float(np.mean(np.abs(p.reshape(len(p), -1) - np.asarray(labels, np.float64).reshape(len(p), -1))))


# ------------------------------------------------------------------ TFLite


def representative(samples: Sequence[np.ndarray]) -> Callable[[], Any]:
    """The converter's representative dataset: one sample at a time, every input."""
    def gen() -> Any:
        for i in range(len(samples[0])):
            yield [np.asarray(a[i:i + 1], np.float32 if a.dtype.kind == "f" else a.dtype) for a in samples]
    return gen


#: Layers TensorFlow's int8 calibration cannot run: it crashes the process (a segmentation fault
#: in the calibrator's interpreter on their while loops, TensorFlow 2.21), so they are refused first.
NO_INT8 = {
    t: "TensorFlow's int8 calibration cannot run recurrent layers (the converter crashes on their loop); "
       "export it as float TFLite, or as .keras with --quantize int8 (Keras' own int8 layers)"
    for t in ("LSTM", "GRU", "SimpleRNN", "Bidirectional")
}


def write_tflite_int8(model: Any, path: Path, calibration: Sequence[np.ndarray]) -> list[str]:
    """Full-integer TFLite (int8 operations, float32 in and out); ExportError naming the layer
    whose operation has no int8 kernel. The converter runs in a child process: should it crash
    (as it does on layers it cannot calibrate), the export fails instead of the application."""
    for layer in model.layers:
        inner = getattr(layer, "layer", None)
        kind = type(layer).__name__ if type(layer).__name__ in NO_INT8 else type(inner).__name__
        if kind in NO_INT8:
            raise ExportError(f"layer '{layer.name}' ({type(layer).__name__}) cannot be quantized to int8 "
                              f"TFLite: {NO_INT8[kind]}")
    import multiprocessing

    with tempfile.TemporaryDirectory(prefix="dlstudio-int8-") as tmp:
        folder = Path(tmp)
        model.save(folder / "model.keras")
        np.savez(folder / "calibration.npz", *[np.asarray(a) for a in calibration])
        child = multiprocessing.get_context("spawn").Process(target=convert_int8_folder, args=(str(folder),))
        child.start()
        child.join()
        error = folder / "error.txt"
        if error.is_file():
            raise ExportError(error.read_text(encoding="utf-8"))
        if child.exitcode != 0 or not (folder / "model.tflite").is_file():
            raise ExportError(f"the TFLite converter crashed while quantizing the model to int8 (exit code "
                              f"{child.exitcode}); export it as float TFLite, or as .keras with --quantize int8")
        notes = (folder / "notes.txt").read_text(encoding="utf-8").splitlines() \
            if (folder / "notes.txt").is_file() else []
        with staged(path) as target:
            target.write_bytes((folder / "model.tflite").read_bytes())
    return notes


def convert_int8_folder(folder: str) -> None:
    """In a child process: ``folder``/model.keras and calibration.npz -> model.tflite (int8), or
    error.txt with the reason (naming the layer)."""
    import keras

    from dlstudio.export.models import write_tflite

    where = Path(folder)
    try:
        model = keras.saving.load_model(str(where / "model.keras"), safe_mode=True, compile=False)
        with np.load(where / "calibration.npz") as arrays:
            calibration = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        notes = write_tflite(model, where / "model.tflite", int8=representative(calibration))
        (where / "notes.txt").write_text("\n".join(notes), encoding="utf-8")
    except ExportError as exc:
        (where / "error.txt").write_text(str(exc), encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - any failure: the reason goes back to the parent
        (where / "error.txt").write_text(f"the model cannot be quantized to int8 TFLite: {exc}", encoding="utf-8")


def tflite_predict(path: Path, xs: Sequence[np.ndarray]) -> np.ndarray:
    from dlstudio.export.verify import run_tflite

    return run_tflite(path, list(xs))[0]


def tflite_latency(path: Path, xs: Sequence[np.ndarray], runs: int = LATENCY_RUNS) -> float:
    """Median milliseconds of one invoke of one sample in the LiteRT interpreter."""
    from dlstudio.export.verify import tflite_interpreter

    interpreter = tflite_interpreter(path)
    details = sorted(interpreter.get_input_details(), key=lambda d: d["index"])
    for d, x in zip(details, xs):
        interpreter.resize_tensor_input(d["index"], (1, *x.shape[1:]))
    interpreter.allocate_tensors()
    times = []
    n = len(xs[0])
    for i in range(min(runs, n) + 3):  # the first invokes warm up
        for d, x in zip(details, xs):
            interpreter.set_tensor(d["index"], np.ascontiguousarray(x[i % n:i % n + 1], dtype=d["dtype"]))
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[3:])


def compare_tflite(float_model: Any, int8_path: Path, samples: Samples) -> tuple[Comparison, list[str]]:
    """The float TFLite model (written to a temporary folder) against the int8 file."""
    from dlstudio.export.models import write_tflite

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dlstudio-float-") as tmp:
        float_path = Path(tmp) / "float.tflite"
        write_tflite(float_model, float_path)
        kind, f_metric = metric_of(samples.task, tflite_predict(float_path, samples.x_test), samples.y_test)
        f = Variant(float_path.stat().st_size, f_metric, tflite_latency(float_path, samples.x_test))
    _, q_metric = metric_of(samples.task, tflite_predict(int8_path, samples.x_test), samples.y_test)
    q = Variant(int8_path.stat().st_size, q_metric, tflite_latency(int8_path, samples.x_test))
    runtime = "LiteRT" if _has_litert() else "TensorFlow's TFLite interpreter"
    return Comparison(kind, f, q, runtime, len(samples.x_test[0])), notes


def _has_litert() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------ Keras


def write_keras_int8(model: Any, path: Path) -> list[str]:
    """Keras 3's own int8 quantization of a copy of ``model``, saved as .keras; returns the
    names of the quantized layers. ExportError when Keras quantizes none of them."""
    import keras

    import warnings

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Layer Conv2D does not have a `quantize` method": named below
            copy.quantize("int8")
    except Exception as exc:  # noqa: BLE001 - Keras raises ValueError/NotImplementedError
        from dlstudio.export.layer_errors import describe_failure

        raise ExportError(describe_failure(exc, model, "int8 with Keras' quantize")) from None
    done = [lay.name for lay in copy.layers if getattr(lay, "quantization_mode", None) == "int8"]
    if not done:
        kinds = sorted({type(lay).__name__ for lay in model.layers})
        raise ExportError("Keras' quantize('int8') quantizes Dense, EinsumDense, Embedding and convolution "
                          f"layers; this model has none of them ({', '.join(kinds)})")
    with staged(path) as tmp:
        copy.save(tmp)
    return done


def float_layers(model: Any, quantized: Sequence[str]) -> list[str]:
    """'Conv2D conv1' for each layer with weights that Keras' quantize left in float."""
    return [f"{type(lay).__name__} {lay.name}" for lay in model.layers
            if lay.weights and lay.name not in quantized]


def keras_latency(model: Any, xs: Sequence[np.ndarray], runs: int = 30) -> float:
    n = len(xs[0])
    times = []
    for i in range(min(runs, n) + 3):
        one = [x[i % n:i % n + 1] for x in xs]
        start = time.perf_counter()
        model(one if len(one) > 1 else one[0], training=False)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[3:])


def compare_keras(float_model: Any, int8_path: Path, samples: Samples) -> Comparison:
    import keras

    from dlstudio.export.verify import keras_outputs

    with tempfile.TemporaryDirectory(prefix="dlstudio-float-") as tmp:
        float_path = Path(tmp) / "float.keras"
        float_model.save(float_path)
        float_size = float_path.stat().st_size
    kind, f_metric = metric_of(samples.task, keras_outputs(float_model, samples.x_test)[0], samples.y_test)
    q_model = keras.saving.load_model(str(int8_path), safe_mode=True, compile=False)
    _, q_metric = metric_of(samples.task, keras_outputs(q_model, samples.x_test)[0], samples.y_test)
    return Comparison(kind, Variant(float_size, f_metric, keras_latency(float_model, samples.x_test)),
                      Variant(int8_path.stat().st_size, q_metric, keras_latency(q_model, samples.x_test)),
                      "Keras", len(samples.x_test[0]))


# ------------------------------------------------------------------ the export


def check_request(fmt: str, quantize: str | None) -> None:
    """ExportError before any work for a quantization that the format does not have."""
    if quantize is None:
        return
    if quantize != "int8":
        raise ExportError(f"unknown quantization {quantize!r}; DL Studio quantizes to int8")
    if fmt not in QUANTIZABLE:
        raise ExportError(f"--quantize int8 applies to tflite (full-integer quantization) and keras "
                          f"(Keras' own int8 layers), not to {fmt}")


def export_quantized(project: Any, run: Any, model: Any, graph: Any, fmt: str, path: Path, result: Any,
                     progress: Callable[[str], None], verify: bool = True) -> Any:
    """Write the int8 export of ``model`` (a run's) to ``path`` and fill ``result`` (an ExportResult):
    notes and the float-vs-int8 comparison; the int8 file is run in its runtime on the test split."""
    from dlstudio.export import models

    if fmt == "tflite":
        served, dropped = models.inference_model(model, graph)
        if dropped:
            result.notes.append(f"left out {', '.join(dropped)}: {'they act' if len(dropped) > 1 else 'it acts'} "
                                "only while training")
        samples = project_samples(project, run, served)
        progress(f"quantizing to int8 on {len(samples.calibration[0])} training samples")
        result.notes += write_tflite_int8(served, path, samples.calibration)
        result.notes.append("the int8 model takes one sample at a time (batch size 1), float32 in and out")
        if not verify:
            return result
        progress("running the float and int8 models in LiteRT")
        try:
            comparison, notes = compare_tflite(served, path, samples)
        except ExportError:
            raise
        except Exception as exc:  # noqa: BLE001 - the runtime refused the file
            path.unlink(missing_ok=True)
            from dlstudio.export.layer_errors import describe_failure

            raise ExportError(describe_failure(exc, served, "int8 TFLite (its runtime cannot run the result)")) \
                from None
        result.notes += notes
    else:
        samples = project_samples(project, run, model)
        progress("quantizing with Keras' quantize('int8')")
        done = write_keras_int8(model, path)
        result.notes.append(f"int8 weights in {len(done)} layer{'s' if len(done) != 1 else ''}: "
                            f"{', '.join(done[:6])}{', ...' if len(done) > 6 else ''}")
        left = float_layers(model, done)
        if left:
            result.notes.append(f"Keras' quantize('int8') has no int8 form of {', '.join(left[:6])}"
                                f"{', ...' if len(left) > 6 else ''}: they stay float32 (for an all-int8 model "
                                "export --format tflite --quantize int8)")
        if not verify:
            return result
        progress("running the float and int8 models in Keras")
        comparison = compare_keras(model, path, samples)
    if samples.y_test is None:
        result.notes.append("no labelled test data fits the model: the metric is not measured, and the int8 "
                            "ranges were calibrated on random inputs")
    elif comparison.metric == "accuracy" and comparison.float.metric is not None \
            and comparison.int8.metric is not None and comparison.float.metric - comparison.int8.metric > 0.015:
        result.notes.append(f"int8 loses {100 * (comparison.float.metric - comparison.int8.metric):.1f} points "
                            "of accuracy")
    result.comparison = comparison
    result.samples_checked = comparison.samples
    return result
