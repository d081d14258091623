"""The run choice of every panel that looks at a trained run (Insight, Evaluation,
Predict, Adversarial, Autoencoder, Text, Forecast, GAN, Export).

``RunsCombo`` lists the runs newest first behind a "Latest run" entry, the default,
which follows each newly finished run; a run the user picked stays picked until it
disappears. ``RunSource`` binds a combo to the open document's runs
(:attr:`Document.runs`, one :class:`dlstudio.runs.RunStore`): it fills it when the
document changes or its runs change and says when the chosen run changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox

from dlstudio.runs import run_label
from dlstudio.qt.signals import rebind

#: The data of the "Latest run" entry.
LATEST = "\x00latest"
_NOTHING = object()


class RunsCombo(QComboBox):
    """``opening`` is emitted before the list opens (a training may have ended: refresh then)."""

    opening = Signal()

    def __init__(self, parent=None, latest: bool = True):
        super().__init__(parent)
        self.latest_entry = latest
        self._runs: dict[str, Any] = {}
        self._newest: Any = None
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(18)

    def showPopup(self) -> None:
        self.opening.emit()
        super().showPopup()

    def fill(self, runs: Sequence[Any], label: Callable[[Any], str] = run_label,
             lead: Iterable[tuple[str, Any]] = (), default: int | None = None) -> None:
        """List the fixed ``lead`` items ((text, data) pairs), then "Latest run" (when there
        are runs), then ``runs`` (oldest first as listed; shown newest first) as
        ``label(run)`` with the run id as data. The entry chosen before stays chosen while
        it exists; otherwise item ``default`` (None: "Latest run", else the first item).
        No signal is emitted."""
        keep = self.currentData() if self.count() else _NOTHING
        runs = list(runs)
        self._runs = {r.id: r for r in runs}
        self._newest = runs[-1] if runs else None
        self.blockSignals(True)
        self.clear()
        for text, data in lead:
            self.addItem(text, data)
        first_run = self.count()
        if runs and self.latest_entry:
            self.addItem(f"Latest run ({label(self._newest)})", LATEST)
            self.setItemData(self.count() - 1, "Always the newest run: follows each training as it ends",
                             Qt.ItemDataRole.ToolTipRole)
        for run in reversed(runs):
            self.addItem(label(run), run.id)
            self.setItemData(self.count() - 1, label(run), Qt.ItemDataRole.ToolTipRole)
        i = self.findData(keep) if keep is not _NOTHING else -1
        if i < 0:
            i = (first_run if runs else 0) if default is None else default
        self.setCurrentIndex(i if self.count() else -1)
        self.blockSignals(False)

    def run(self) -> Any:
        """The chosen Run ("Latest run" resolved), or None (a lead item, or no runs)."""
        data = self.currentData()
        if data == LATEST:
            return self._newest
        return self._runs.get(data) if isinstance(data, str) else None

    def run_id(self) -> str | None:
        run = self.run()
        return run.id if run is not None else None

    def run_ids(self) -> list[str]:
        """The ids listed, newest first."""
        return [d for d in (self.itemData(i) for i in range(self.count())) if d in self._runs]

    def choose(self, run_id: str | None) -> bool:
        """Pick ``run_id`` (LATEST: follow the newest; None: a lead item with data None);
        False when it is not listed."""
        i = self.findData(run_id)
        if i < 0:
            return False
        self.setCurrentIndex(i)
        return True


class RunSource(QObject):
    """The runs a panel can choose from, read from the document's RunStore.

    ``kind``: "model" or "gan" runs; ``accept``: a further filter (a Run -> bool);
    ``lead``: fixed items before the runs (such as "Untrained graph"); ``default``: the
    item chosen when nothing was (None: "Latest run"); ``keep_lead``: a lead item chosen
    stays chosen when a training ends (a "Live" view already shows that training).
    ``changed`` is emitted whenever the effective run changes: the user picks another, a
    new run becomes the latest one followed, the chosen run disappears, or the document
    changes.
    """

    changed = Signal()

    def __init__(self, combo: RunsCombo, kind: str | None = "model", accept: Callable[[Any], bool] | None = None,
                 lead: Sequence[tuple[str, Any]] = (), default: int | None = None,
                 keep_lead: bool = False, parent: QObject | None = None):
        super().__init__(parent or combo)
        self.combo = combo
        self.kind = kind
        self.accept = accept
        self.lead = list(lead)
        self.default = default
        self.keep_lead = keep_lead
        self.document = None
        self._effective: Any = _NOTHING
        combo.opening.connect(self.refresh)
        combo.currentIndexChanged.connect(lambda _i: self._emit_if_changed())

    def set_document(self, document) -> None:
        """Follow another document: its runs, chosen afresh (the default entry)."""
        rebind(self.document, document, ("runs_changed", self.refresh), ("run_finished", self.follow_latest))
        self.document = document
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.blockSignals(False)
        self._effective = _NOTHING
        self.refresh()

    def runs(self) -> list:
        """The document's runs this panel can use, oldest first."""
        if self.document is None:
            return []
        try:
            runs = self.document.runs.runs(trained=True, kind=self.kind)
        except OSError:
            return []
        return [r for r in runs if self.accept is None or self.accept(r)]

    def refresh(self) -> None:
        """Read the runs again; the choice is kept (or follows the latest run)."""
        self.combo.fill(self.runs(), run_label, self.lead, self.default)
        self._emit_if_changed()

    def follow_latest(self, *_args) -> None:
        """A training just ended: show the newest run (the choice goes back to "Latest run")."""
        if self.keep_lead and self.combo.currentIndex() in range(len(self.lead)):
            self.refresh()
            return
        self.combo.blockSignals(True)
        self.combo.fill(self.runs(), run_label, self.lead, self.default)
        self.combo.choose(LATEST)
        self.combo.blockSignals(False)
        self._emit_if_changed()

    def run(self) -> Any:
        return self.combo.run()

    def _key(self) -> Any:
        run = self.combo.run()
        if run is not None:
            return ("run", str(run.path))
        return ("item", self.combo.currentData()) if self.combo.count() else None

    def _emit_if_changed(self) -> None:
        key = self._key()
        if key != self._effective:
            self._effective = key
            self.changed.emit()
