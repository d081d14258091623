"""Samples drawn as points coloured by their class: the one way the Projector and the
Autoencoder's codes draw them (the same class has the same colour in every view:
``dlstudio.data.grid.class_color``), with a legend in columns of five rows (it fits a low dock)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Classes named in a legend at the most.
LEGEND_CLASSES = 20


def class_brushes(pg: Any, labels: np.ndarray) -> list:
    """One brush per point, the brush of a class shared by its points (cheap for 10,000 points)."""
    from dlstudio.data.grid import class_color

    brushes = {int(c): pg.mkBrush(*class_color(int(c))) for c in np.unique(labels)}
    return [brushes[int(c)] for c in labels]


def fill_legend(pg: Any, legend: Any, labels: np.ndarray | None, name_of: Callable[[int], str]) -> None:
    """The legend of the classes among ``labels`` (emptied when there are none)."""
    from dlstudio.data.grid import class_color

    legend.clear()
    if labels is None:
        return
    classes = sorted(set(np.asarray(labels).tolist()))[:LEGEND_CLASSES]
    legend.setColumnCount(max(1, -(-len(classes) // 5)))
    for c in classes:
        legend.addItem(pg.ScatterPlotItem(size=7, brush=pg.mkBrush(*class_color(int(c))), pen=None), name_of(int(c)))
