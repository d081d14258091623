"""GAN training on a background thread: :class:`~dlstudio.qt.workers.TrainingWorker`
(its thread, bundled queued events, stop flag, priorities) running
:func:`dlstudio.gan.train.train_gan` instead of the ordinary engine.

``GanStep`` events are bundled like batch events (one queued signal per
``POST_INTERVAL``, not one per step); sample grids, epochs and the outcome
are posted at once.
"""

from __future__ import annotations

import copy
import time
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from dlstudio.gan.events import GanStep
from dlstudio.qt.workers import POST_INTERVAL, TrainingWorker, failure_message
from dlstudio.training.events import Failed, Finished


class GanTrainingWorker(TrainingWorker):
    """Trains the GAN of a project snapshot (the user may keep editing meanwhile).

    ``result`` is the :class:`~dlstudio.gan.train.GanResult` once finished.
    """

    def __init__(self, project: Any, *, run_base: str | Path | None = None, run_info: dict[str, Any] | None = None,
                 start_from: str | Path | None = None, parent: QObject | None = None):
        from dlstudio.data.paths import base_folder

        super().__init__(project.graph, project.dataset, project.training, run_base=run_base, run_info=run_info,
                         start_from=start_from, data_base=base_folder(project), parent=parent)
        self.project = copy.copy(project)  # a snapshot: own graphs and settings
        self.project.graph = project.graph.copy()
        self.project.graphs = {name: g.copy() for name, g in project.graphs.items()}
        self.project.gan = project.gan.model_copy(deep=True) if project.gan is not None else None
        self.project.training = self.settings

    def _emit(self, ev: object) -> None:  # worker thread
        if not isinstance(ev, GanStep):
            super()._emit(ev)
            return
        self._bundle.append(ev)
        now = time.perf_counter()
        if now - self._last_post >= POST_INTERVAL:
            self._flush(now)

    def _train(self) -> None:  # worker thread
        try:
            dataset = self._load_dataset()
            if self._stop.is_set():
                self._emit(Finished({}, 0, True))
                return
            from dlstudio.gan.train import train_gan
            from dlstudio.training.engine import TrainingError

            try:
                self.result = train_gan(self.project, dataset, self._emit, self._stop.is_set,
                                        settings=self.settings, run_base=self.run_base, run_info=self.run_info,
                                        start_from=self.start_from)
            except TrainingError as exc:
                if not self._failed_sent:
                    self._emit(Failed(str(exc), tuple(exc.problems)))
        except Exception as exc:  # noqa: BLE001 - reported in the panel, never lost on a thread
            if not self._failed_sent:
                self._emit(Failed(failure_message(exc, "GAN training"), (), traceback.format_exc()))
