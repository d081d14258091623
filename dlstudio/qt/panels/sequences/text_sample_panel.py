"""The Text panel: what a language model writes, epoch by epoch, and what a
seq2seq model translates.

While a text project trains, the training's
:class:`~dlstudio.training.sequence_callbacks.TextSampler` sends a sample at
its epochs' ends (:class:`~dlstudio.training.events.TextSample`); the panel
lists them newest first, so the text can be watched turning from noise into
words. The prompt, the temperature slider, the length and the seed go into
the shared :class:`SampleSettings` at once, so the next epoch's sample uses
them. With a trained run picked, "Write" (or moving the slider) generates
from that run on a pool thread -- the GUI thread never calls Keras.

For a seq2seq (translation) project the panel shows a table instead: source,
greedy translation and truth of a few test inputs, plus a field to translate
an input of one's own.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from dlstudio.qt.panels.runs.run_job import RunJob
from dlstudio.qt.panels.sequences.sequence_docks import LIVE, RunPicker
from dlstudio.runs import load_run
from dlstudio.training.events import TextSample
from dlstudio.training.sample_settings import SampleSettings

#: Temperature slider: 0 .. TEMPERATURE_MAX in TEMPERATURE_TICKS steps.
TEMPERATURE_MAX = 2.0
TEMPERATURE_TICKS = 200
#: Samples kept in the list (oldest dropped).
MAX_SAMPLES = 200


def _job(project: Any, run: Any, cache: dict, action: str, settings: dict, sources: list[str]) -> dict:
    """On a pool thread: the run's model (cached by the caller), then text or translations."""
    from dlstudio.inference.text_generation import generate, text_model_info, translate

    if run.id not in cache:
        cache[run.id] = load_run(project, run, check=False)
    model, dataset = cache[run.id].model, cache[run.id].dataset
    info = text_model_info(dataset)
    if info.is_translation:
        sources = sources or list(info.examples[:8])
        truths = dict(zip(dataset.meta.get("sources") or (), dataset.meta.get("targets") or ()))
        out = translate(model, info, sources)
        return {"translations": [(s, o, truths.get(s, "")) for s, o in zip(sources, out)], "run": run.id}
    prompt = settings["prompt"] or info.default_prompt[:max(info.window, 40)]
    text = generate(model, info, prompt, settings["length"], settings["temperature"], settings["seed"])
    return {"prompt": prompt, "text": text, "temperature": settings["temperature"], "run": run.id}


class TextSamplePanel(QWidget):
    """Text samples of the running training or of a trained run; translations for seq2seq."""

    wants_attention = Signal()  # the first sample of a training arrived
    sample_shown = Signal(object)  # a TextSample or a run's result dict, once shown

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("TextSamplePanel")
        self.document = None
        self.settings = SampleSettings(temperature=0.5)
        self.samples: list[dict] = []  # shown, oldest first: {"head", "prompt", "text"}
        self.training = False
        self._attention_given = False
        self._cache: dict = {}  # run id -> (run, model, dataset), filled on pool threads
        self.job = RunJob(self, cache_size=0)  # every press writes anew (sampling is random)
        self.job.done.connect(lambda key, result: self._done(result, list(key[2])))
        self.job.failed.connect(lambda _key, message: self._set_status(message, error=True))
        self._writes = 0
        self._worker = None
        self._build()
        if document is not None:
            self.set_document(document)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        top = QHBoxLayout()
        self.runs = RunPicker(self)
        self.runs.picked.connect(self._run_picked)
        top.addWidget(self.runs, 1)
        self.write_button = QPushButton("Write", self)
        self.write_button.setToolTip("Generate from the picked run with these settings")
        self.write_button.clicked.connect(self.write)
        self.write_button.setEnabled(False)  # "Live" is picked: samples come with the epochs
        top.addWidget(self.write_button)

        self.controls = QWidget(self)  # the sampling settings; hidden for translations
        rows = QVBoxLayout(self.controls)
        rows.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.prompt = QLineEdit(self)
        self.prompt.setPlaceholderText("prompt (empty: the start of the text)")
        self.prompt.setToolTip("The text the model continues; it must be at least the model's window long")
        self.prompt.textChanged.connect(lambda t: self.settings.update(prompt=t))
        self.prompt.returnPressed.connect(self.write)
        rows.addWidget(self.prompt)
        rows.addLayout(controls)
        controls.addWidget(QLabel("Temperature", self))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, TEMPERATURE_TICKS)
        self.slider.setToolTip("0: always the likeliest token (the same text every time); 1: the model's own "
                               "probabilities; above 1: flatter, wilder")
        self.slider.setMinimumWidth(90)
        controls.addWidget(self.slider, 1)
        self.temperature_label = QLabel(self)
        self.temperature_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.00 "))
        controls.addWidget(self.temperature_label)
        self.length = QSpinBox(self)
        self.length.setRange(10, 2000)
        self.length.setValue(self.settings.snapshot()["length"])
        self.length.setPrefix("length ")
        self.length.valueChanged.connect(lambda n: self.settings.update(length=n))
        controls.addWidget(self.length)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 1_000_000)
        self.seed.setPrefix("seed ")
        self.seed.setToolTip("The same seed writes the same text")
        self.seed.valueChanged.connect(lambda n: self.settings.update(seed=n))
        controls.addWidget(self.seed)
        self._regenerate = QTimer(self, singleShot=True, interval=200)
        self._regenerate.timeout.connect(self._after_slider)
        self.slider.valueChanged.connect(self._temperature_changed)
        self.slider.setValue(round(self.settings.snapshot()["temperature"] / TEMPERATURE_MAX * TEMPERATURE_TICKS))

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.text_view = QTextBrowser(self)
        self.text_view.setObjectName("text_samples")
        self.text_view.setOpenLinks(False)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("translations")
        self.table.setHorizontalHeaderLabels(["Source", "Greedy translation", "Truth"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.own = QLineEdit(self)
        self.own.setPlaceholderText("translate your own input (a run must be picked), then Enter")
        self.own.returnPressed.connect(self.translate_own)
        translation_page = QWidget(self)
        tl = QVBoxLayout(translation_page)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addWidget(self.own)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.text_view)
        self.pages.addWidget(translation_page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.controls)
        layout.addWidget(self.status)
        layout.addWidget(self.pages, 1)
        self._set_status("Train a character or word model (hello, text_corpus, text_file) or a seq2seq model "
                         "(translation): its text appears here after every epoch.")

    # ------------------------------------------------------------------ state
    @property
    def temperature(self) -> float:
        return round(self.slider.value() * TEMPERATURE_MAX / TEMPERATURE_TICKS, 4)

    def set_temperature(self, value: float) -> None:
        self.slider.setValue(round(float(value) / TEMPERATURE_MAX * TEMPERATURE_TICKS))

    def _temperature_changed(self) -> None:
        t = self.temperature
        self.temperature_label.setText(f"{t:.2f}")
        self.settings.update(temperature=t)
        if self.runs.current() != LIVE:
            self._regenerate.start()

    def _after_slider(self) -> None:
        if self.runs.current() != LIVE and self.pages.currentIndex() == 0 and isValid(self):
            self.write()

    def set_document(self, document) -> None:
        self.document = document
        self._cache.clear()
        self.job.reset()
        self.clear()
        self.runs.set_document(document)

    def refresh_runs(self) -> None:
        self.runs.refresh()

    def set_training(self, running: bool) -> None:
        self.training = running
        if running:
            self._attention_given = False
            if self.runs.current() == LIVE:
                self.clear()
                self._set_status("Training: a sample follows every epoch (prompt and temperature apply "
                                 "from the next one).")

    def clear(self) -> None:
        self.samples.clear()
        self.text_view.clear()
        self.table.setRowCount(0)

    # ------------------------------------------------------------------ live samples
    def add_event(self, event: object) -> None:
        """A live event of the training panel; TextSamples are shown when "Live" is picked."""
        if not isinstance(event, TextSample) or self.runs.current() != LIVE:
            return
        if not self._attention_given:
            self._attention_given = True
            self.wants_attention.emit()
        self._show_sample(event)

    def _show_sample(self, sample: TextSample) -> None:
        if sample.translations:
            self._show_translations(sample.translations, f"Epoch {sample.epoch}: greedy translations of test inputs")
        else:
            self._add_text(f"Epoch {sample.epoch} \u00b7 temperature {sample.temperature:.2f}", sample.prompt,
                           sample.text)
            self._set_status(f"Epoch {sample.epoch}: {len(sample.text)} characters at temperature "
                             f"{sample.temperature:.2f} ({sample.seconds:.2f} s)")
        self.sample_shown.emit(sample)

    def _show_page(self, translations: bool) -> None:
        self.pages.setCurrentIndex(1 if translations else 0)
        self.controls.setVisible(not translations)

    def _add_text(self, head: str, prompt: str, text: str) -> None:
        self.samples.append({"head": head, "prompt": prompt, "text": text})
        del self.samples[:-MAX_SAMPLES]
        self._show_page(False)
        self._render()

    def latest_text(self) -> str:
        """The newest sample's generated text ("" when none)."""
        return self.samples[-1]["text"] if self.samples else ""

    def _render(self) -> None:
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        parts = []
        for s in reversed(self.samples):
            head = s["head"]
            body = (f"<span style='color:{muted}'>{html.escape(s['prompt'])}</span>"
                    f"<b>{html.escape(s['text'])}</b>")
            parts.append(f"<p style='margin:0 0 2px 0; color:{muted}; font-size:small'>{html.escape(head)}</p>"
                         f"<pre style='white-space:pre-wrap; margin:0 0 10px 0'>{body}</pre>")
        self.text_view.setHtml("".join(parts))

    def _show_translations(self, rows, caption: str) -> None:
        from dlstudio.inference.text_generation import character_accuracy

        self._show_page(True)
        self.table.setRowCount(len(rows))
        good, bad = QColor("#2e7d32"), QColor("#c62828")
        for i, (source, output, truth) in enumerate(rows):
            for j, value in enumerate((source, output, truth)):
                item = QTableWidgetItem(value)
                if j == 1 and truth:
                    item.setForeground(good if output == truth else bad)
                    wrong = sum(a != b for a, b in zip(output, truth)) + abs(len(output) - len(truth))
                    item.setToolTip("exactly right" if not wrong else f"{wrong} character(s) wrong")
                self.table.setItem(i, j, item)
        known = [(o, t) for _s, o, t in rows if t]
        if known:
            chars, exact = character_accuracy([o for o, _ in known], [t for _, t in known])
            caption += (f" \u2014 {round(exact * len(known))} of {len(known)} exactly right, "
                        f"{chars:.0%} of the characters")
        self._set_status(caption)

    # ------------------------------------------------------------------ runs
    def _run_picked(self, run_id: str) -> None:
        self.clear()
        self.write_button.setEnabled(run_id != LIVE)
        if run_id == LIVE:
            self._set_status("Samples of the next training appear here after every epoch.")
        else:
            self.write()

    def write(self) -> None:
        """Generate (or translate) with the picked run, on a pool thread; latest request wins."""
        self._start("write", [])

    def translate_own(self) -> None:
        text = self.own.text().strip()
        if text:
            self._start("translate", [text])

    def _start(self, action: str, sources: list[str]) -> None:
        run_id = self.runs.current()
        if run_id == LIVE or self.document is None:
            self._set_status("Pick a trained run to write with it (samples of a training come by themselves).")
            return
        self._writes += 1
        self._set_status("Loading the run\u2026" if run_id not in self._cache else "Writing\u2026")
        self.job.request((run_id, action, tuple(sources), self._writes), _job, self.document.project, self.runs.run(),
                         self._cache, action, self.settings.snapshot(), sources)

    def _done(self, result: dict, sources: list[str]) -> None:
        if "translations" in result:
            caption = "Your input" if sources else f"Run {result['run']}: greedy translations of test inputs"
            self._show_translations(result["translations"], caption)
        else:
            self._add_text(f"Run {result['run']} \u00b7 temperature {result['temperature']:.2f}", result["prompt"],
                           result["text"])
            self._set_status(f"Run {result['run']}: {len(result['text'])} characters at temperature "
                             f"{result['temperature']:.2f}")
        self.sample_shown.emit(result)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c62828;" if error else "")
