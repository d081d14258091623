"""The Experiments dock of the main window (a tab beside Runs at the bottom) and what ties it to
the rest: a trial's run opens in the Runs and Evaluation panels, two runs' difference opens in a
window of its own, the canvas shows the badge of searched nodes, a running search stops with the
app."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from dlstudio.qt.panels.experiments.canvas_marks import SearchBadges
from dlstudio.qt.panels.experiments.experiments_panel import ExperimentsPanel

_panels: list[ExperimentsPanel] = []


def build_experiments_dock(window: Any) -> None:
    from PySide6.QtWidgets import QApplication

    dock = window._dock("Experiments", "experiments", Qt.DockWidgetArea.BottomDockWidgetArea)
    panel = ExperimentsPanel(None)
    dock.setWidget(panel)
    window.tabifyDockWidget(window.runs_dock, dock)
    window.problems_dock.raise_()
    window.experiments_dock, window.experiments_panel = dock, panel
    window.search_badges = None
    window.diff_dialog = None
    panel.open_run_requested.connect(lambda run_id: open_run(window, run_id))
    panel.diff_requested.connect(lambda a, b: show_diff(window, a, b))
    window.runs_panel.diff_requested.connect(lambda a, b: show_diff(window, a, b))
    panel.space.selection = lambda: window.scene.selected_node_ids()
    _panels.append(panel)
    QApplication.instance().aboutToQuit.connect(_stop_all)


def experiments_set_document(window: Any, document: Any) -> None:
    """Follow the window's new document: the panel, and the badges on its canvas."""
    if getattr(window, "search_badges", None) is not None:
        window.search_badges.detach()
    window.search_badges = SearchBadges(window.scene, document)
    window.experiments_panel.set_document(document)


def open_run(window: Any, run_id: str) -> None:
    """Show a trial's run: selected in Runs, evaluated in Evaluation (in front)."""
    window.runs_panel.refresh()
    window.runs_panel.select_runs([run_id])
    try:
        window.evaluation_panel.set_run(run_id)
    except KeyError:  # not trained (a failed trial): the Runs panel shows it
        window._raise_dock(window.runs_dock)
        return
    window._raise_dock(window.evaluation_dock)


def show_diff(window: Any, run_a: str, run_b: str) -> Any:
    """A window with the difference of two runs of the document's project."""
    from dlstudio.qt.panels.experiments.diff_view import DiffDialog

    store = window.document.runs
    dialog = DiffDialog(store.find(run_a), store.find(run_b), window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    window.diff_dialog = dialog
    return dialog


def _stop_all() -> None:
    for panel in list(_panels):
        try:
            if panel.worker is not None and panel.worker.is_running():
                panel.worker.stop()
                panel.worker.wait(60_000)
        except RuntimeError:  # already deleted
            pass
