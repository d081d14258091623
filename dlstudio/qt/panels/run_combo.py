"""The run choice of the panels that look at a trained run (insight, evaluation,
predict, autoencoder): one combo box that lists runs newest first, keeps the
chosen run across refreshes, and re-reads the runs whenever its list opens."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox

_NOTHING = object()


class RunsCombo(QComboBox):
    """``opening`` is emitted before the list opens (a training may have ended: refresh then)."""

    opening = Signal()

    def showPopup(self) -> None:
        self.opening.emit()
        super().showPopup()

    def fill(self, runs: Sequence[Any], label: Callable[[Any], str],
             lead: Iterable[tuple[str, Any]] = (), default: int = 0) -> None:
        """List the fixed ``lead`` items ((text, data) pairs), then ``runs`` (oldest first
        as listed; shown newest first) as ``label(run)`` with the run id as data. The run
        chosen before stays chosen; otherwise item ``default`` (none when the list is
        empty). No signal is emitted."""
        keep = self.currentData() if self.count() else _NOTHING
        self.blockSignals(True)
        self.clear()
        for text, data in lead:
            self.addItem(text, data)
        for run in reversed(list(runs)):
            self.addItem(label(run), run.id)
        i = self.findData(keep) if keep is not _NOTHING else -1
        self.setCurrentIndex(i if i >= 0 else (default if self.count() else -1))
        self.blockSignals(False)


def run_status_label(run: Any) -> str:
    """``20261123-0101-ab12 · finished · test accuracy 96.1%``."""
    acc = run.metrics.get("test_accuracy")
    extra = f" \u00b7 test accuracy {acc:.1%}" if isinstance(acc, (int, float)) else ""
    return f"{run.id} \u00b7 {run.status}{extra}"
