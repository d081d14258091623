"""The Insight dock's "Attribution" tab: why the model chose a class, by any method,
and whether that method passes its sanity check.

Choose the method (saliency, Grad-CAM, Integrated Gradients, SmoothGrad, occlusion),
the class (the predicted one, the sample's true one, or any), and where they apply
IG's baseline and steps, SmoothGrad's noisy copies and occlusion's patch. The map is
drawn next to the sample and over it (a text or a table row: one bar per token or
feature; signed maps in blue-red around zero), with IG's completeness check under it.
"Check this method" runs the cascading model randomisation test (Adebayo et al. 2018)
on this sample and the next few of the split, in the background, and lists the rank
correlation with the trained model's map after each layer is randomised, top first,
with the verdict: a failing method is said to fail.

The computations are :func:`dlstudio.insight.attribution.attribute` and
:func:`dlstudio.insight.sanity.randomization_check` on a worker (RunJob); the panel
hands this view its model, dataset and sample (``set_subject``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.data_widgets import muted_label, section_header
from dlstudio.qt.panels.runs.run_job import RunJob

CHECK_SAMPLES = 8
PICTURE_SIZE = 120  # pixels per image tile (three side by side fit the dock)


def _attribute(model: Any, x: np.ndarray, method: str, target: Any, options: dict) -> Any:
    from dlstudio.insight.attribution import attribute

    return attribute(model, x, method, target, **options)


def _check(model: Any, batch: np.ndarray, method: str, target: Any, options: dict) -> Any:
    from dlstudio.insight.sanity import randomization_check

    return randomization_check(model, batch, method, target, **options)


class AttributionView(QWidget):
    """Signals: ``computed(Attribution)``, ``checked(RandomizationCheck)``, ``failed(str)``."""

    computed = Signal(object)
    checked = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from dlstudio.insight.attribution import METHOD_NAMES, METHODS

        self.model = self.dataset = self.x = None
        self.batch: np.ndarray | None = None
        self.caption, self.label = "", None
        self.attribution = self.check = None
        self._subject_key = ""
        self.job = RunJob(self, 16)
        self.job.done.connect(self._done)
        self.job.failed.connect(lambda _k, m: self._error(m))
        self.check_job = RunJob(self, 8)
        self.check_job.done.connect(self._checked)
        self.check_job.failed.connect(lambda _k, m: self._error(m, check=True))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        self.method_combo = QComboBox(self)
        for m in METHODS:
            self.method_combo.addItem(METHOD_NAMES[m], m)
        self.method_combo.setCurrentIndex(METHODS.index("ig"))
        self.class_combo = QComboBox(self)
        self.class_combo.addItem("the predicted class", "predicted")
        self.class_combo.addItem("the true class", "true")
        self.baseline_combo = QComboBox(self)
        for text, value in (("black (all zero)", "zero"), ("the sample's mean", "mean"), ("blurred sample", "blur")):
            self.baseline_combo.addItem(text, value)
        self.baseline_combo.setToolTip("Integrated Gradients integrates from this input to the sample")
        self.steps = QSpinBox(self)
        self.steps.setRange(4, 512)
        self.steps.setValue(64)
        self.steps.setToolTip("Integrated Gradients: intervals of the path integral (trapezoid rule)")
        self.samples = QSpinBox(self)
        self.samples.setRange(1, 256)
        self.samples.setValue(32)
        self.samples.setToolTip("SmoothGrad: noisy copies averaged")
        self.patch = QSpinBox(self)
        self.patch.setRange(0, 64)
        self.patch.setSpecialValueText("auto")
        self.patch.setToolTip("Occlusion: the side of the square patch (auto: about an eighth of the image)")
        rows = (("Method", self.method_combo), ("Class", self.class_combo), ("Baseline", self.baseline_combo),
                ("Steps", self.steps), ("Noisy copies", self.samples), ("Patch", self.patch))
        self._option_labels = {}
        for i, (text, w) in enumerate(rows):
            label = QLabel(text, self)
            self._option_labels[w] = label
            grid.addWidget(label, i // 2, (i % 2) * 2)
            grid.addWidget(w, i // 2, (i % 2) * 2 + 1)
            signal = w.currentIndexChanged if isinstance(w, QComboBox) else w.valueChanged
            signal.connect(lambda *_a: self.compute())
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        lay.addLayout(grid)
        self.picture = QLabel(self)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.picture)
        self.note = muted_label("", self)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.note)
        lay.addWidget(section_header("Sanity check", self))
        self.check_button = QPushButton("Check this method", self)
        self.check_button.setToolTip("Randomise the network's layers one by one from the top and see whether the "
                                     "map changes (Adebayo et al. 2018): a map that stays the same does not "
                                     "explain what the network learned")
        self.check_button.clicked.connect(self.run_check)
        lay.addWidget(self.check_button)
        self.check_text = QLabel("", self)
        self.check_text.setWordWrap(True)
        self.check_text.setTextFormat(Qt.TextFormat.RichText)
        self.check_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.check_text)
        lay.addStretch(1)
        self._update_options()

    # ------------------------------------------------------------------ choices
    def method(self) -> str:
        return self.method_combo.currentData()

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(method)))

    def set_class(self, choice: Any) -> None:
        """"predicted", "true" or a class number."""
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(choice)))

    def _target(self) -> Any:
        choice = self.class_combo.currentData()
        if choice == "true":
            return None if self.label is None else int(self.label)
        return None if choice == "predicted" else int(choice)

    def _options(self) -> dict:
        m = self.method()
        opts: dict[str, Any] = {}
        if m == "ig":
            base = self.baseline_combo.currentData()
            opts.update(baseline=None if base == "zero" else base, steps=self.steps.value())
        elif m == "smoothgrad":
            opts["samples"] = self.samples.value()
        elif m == "occlusion" and self.patch.value():
            opts["patch"] = self.patch.value()
        return opts

    def _update_options(self) -> None:
        m = self.method()
        image = self.x is not None and np.ndim(self.x) == 3
        shown = {self.baseline_combo: m == "ig", self.steps: m == "ig", self.samples: m == "smoothgrad",
                 self.patch: m == "occlusion" and image}
        for w, on in shown.items():
            w.setVisible(on)
            self._option_labels[w].setVisible(on)

    # ------------------------------------------------------------------ subject
    def set_subject(self, model: Any, dataset: Any, x: np.ndarray | None, caption: str = "", label: Any = None,
                    batch: np.ndarray | None = None) -> None:
        """What to explain: ``x`` (one sample) of ``dataset`` for ``model``; ``batch`` (x first)
        the samples the sanity check averages over (default: x alone)."""
        self.model, self.dataset, self.x, self.caption = model, dataset, x, caption
        if dataset is not None and getattr(dataset, "task", "classification") != "classification":
            self.model = None  # nothing to compute: say why
            self.picture.clear()
            self.note.setStyleSheet("")
            self.note.setText(f"Attribution explains a classifier's classes; {dataset.name} is a {dataset.task} "
                              "dataset.")
        self.label = None if label is None or np.ndim(label) else int(label)
        self.batch = batch if batch is not None else (None if x is None else np.asarray(x)[None])
        names = list(getattr(dataset, "class_names", None) or []) if dataset is not None else []
        current = self.class_combo.currentData()
        self.class_combo.blockSignals(True)
        while self.class_combo.count() > 2:
            self.class_combo.removeItem(2)
        for i, n in enumerate(names):
            self.class_combo.addItem(f"class {n}" if n != str(i) else f"class {i}", i)
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(current)))
        self.class_combo.blockSignals(False)
        digest = hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest() if x is not None else ""
        self._subject_key = f"{id(model)}:{digest}"
        self.check = self.attribution = None
        self.check_text.setText("")
        self.compute()

    def set_split_sample(self, model: Any, dataset: Any, x: np.ndarray, caption: str, split: str | None,
                         index: int | None) -> None:
        """:meth:`set_subject` for sample ``index`` of ``split`` (its label; the check takes it and the
        next samples), or for an input from elsewhere (``split`` None)."""
        label, batch = None, None
        if split is not None and index is not None and dataset is not None:
            from dlstudio.insight.models import split_arrays

            xs, ys = split_arrays(dataset, split)
            i = min(int(index), len(xs) - 1)
            label = ys[i] if dataset.task == "classification" and np.ndim(ys[i]) == 0 else None
            batch = np.asarray(xs[i:i + CHECK_SAMPLES])
            if len(batch) < 2:
                batch = np.asarray(xs[max(0, i - CHECK_SAMPLES + 1):i + 1])[::-1]
        self.set_subject(model, dataset, x, caption, label, batch)

    def _key(self) -> tuple:
        return (self._subject_key, self.method(), self.class_combo.currentData(), self.label,
                tuple(sorted((k, str(v)) for k, v in self._options().items())))

    def compute(self) -> None:
        self._update_options()
        if self.model is None or self.x is None or not self.isVisible():
            return
        if self.job.request(self._key(), _attribute, self.model, self.x, self.method(), self._target(),
                            self._options()):
            self.note.setText("Computing\u2026")
            self.note.setStyleSheet("")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.attribution is None:
            self.compute()

    def is_busy(self) -> bool:
        return self.job.is_busy() or self.check_job.is_busy()

    def run_check(self) -> None:
        """The model randomisation test for the chosen method (in the background)."""
        if self.model is None or self.batch is None:
            return
        key = self._key()
        if self.check_job.request(key, _check, self.model, self.batch, self.method(), self._target(),
                                  self._options()):
            self.check_text.setText(f"Randomising the layers from the top on {len(self.batch)} "
                                    f"sample{'s' * (len(self.batch) != 1)}\u2026")

    # ------------------------------------------------------------------ results
    def _error(self, message: str, check: bool = False) -> None:
        label = self.check_text if check else self.note
        label.setText(message)
        label.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        self.failed.emit(message)

    def _name(self, c: int) -> str:
        names = list(getattr(self.dataset, "class_names", None) or [])
        return names[c] if 0 <= c < len(names) else str(c)

    def _done(self, key: tuple, a: Any) -> None:
        from dlstudio.insight.attribution import METHOD_NAMES
        from dlstudio.insight.explain_pictures import attribution_picture
        from dlstudio.qt.panels.insight.conv_playground import rgb_pixmap

        if key != self._key():
            return
        self.attribution = a
        c = int(a.classes)
        p = np.asarray(a.probabilities)
        signed = a.method in ("ig", "occlusion")
        labels = None
        if a.unit == "token" and self.dataset is not None:
            vocab = list(self.dataset.vocabulary or [])
            labels = [vocab[int(t)] if 0 <= int(t) < len(vocab) else str(int(t)) for t in np.ravel(self.x)]
        elif a.unit == "feature" and self.dataset is not None:
            labels = list(self.dataset.feature_names or []) or None
        captions = [self.caption, f"{METHOD_NAMES[a.method]}: {self._name(c)}",
                    "over the sample" if a.unit in ("pixel", "cell") else ""]
        pic = attribution_picture(self.x, a.heat, a.unit, signed, captions, labels, size=PICTURE_SIZE)
        self.picture.setPixmap(rgb_pixmap(np.ascontiguousarray(pic[..., :3]), max(pic.shape[:2])))
        parts = [f"Class <b>{self._name(c)}</b> ({p[c]:.1%}); scores: {a.score}."]
        if signed:
            parts.append("Red raises the class, blue lowers it.")
        if a.total is not None:
            ok = a.completeness_error <= 0.02
            parts.append(f"Completeness: the attributions sum to {a.total:.4f}; f(x) \u2212 f(baseline) = "
                         f"{a.target - a.baseline_score:.4f} ({'' if ok else 'off by '}{a.completeness_error:.2%}"
                         f"{' apart: more steps would help' if not ok else ' apart'}).")
        if a.layer:
            parts.append(f"Grad-CAM at {a.layer}.")
        self.note.setStyleSheet("")
        self.note.setText(" ".join(parts))
        self.computed.emit(a)

    def _checked(self, key: tuple, check: Any) -> None:
        if key != self._key():
            return
        self.check = check
        bad = severity_color("error", self.palette()).name()
        rows = []
        for layer, r, r_abs in zip(check.layers[1:], check.correlations[1:], check.abs_correlations[1:]):
            bar = "\u2588" * int(round(max(0.0, r) * 20))
            extra = f" (|map| {r_abs:+.2f})" if check.signed else ""
            rows.append(f"<tr><td>{layer}</td><td align='right'>{r:+.2f}{extra}</td><td>{bar}</td></tr>")
        verdict = check.verdict if check.passed else f"<span style='color:{bad}'><b>{check.verdict}</b></span>"
        self.check_text.setStyleSheet("")
        self.check_text.setText(f"Rank correlation with the trained model's map after randomising, top layer "
                                f"first ({check.samples} samples):<table>{''.join(rows)}</table>{verdict}")
        self.checked.emit(check)
