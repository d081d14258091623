"""The open project's dataset, as the shape pass needs it.

The Problems panel can only say that the model does not fit its data once the
data is known. :class:`ProjectData` keeps the dataset the project trains on
and its :class:`~dlstudio.compile.DataDescription`, which the analysis takes.
Once asked to :meth:`~ProjectData.follow` (the Problems panel does, for the
document it shows), it loads the dataset on a pool thread whenever the
project's choice changes, whether or not the Data panel is shown; the Data
panel hands over what it loads itself. A document made only to draw a graph
(gallery thumbnails, ``dlstudio export --png``) never loads data.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, Signal


class ProjectData(QObject):
    """The loaded dataset of ``document.project.dataset`` (None until it is loaded).

    Signals:
        changed(): the dataset of the project's current choice arrived or went away.
    """

    changed = Signal()

    def __init__(self, document: Any):
        super().__init__(document)
        self.document = document
        self.dataset = None
        self._description = None
        self._key: tuple | None = None  # the choice self.dataset was loaded for
        self._tried: tuple | None = None  # the last choice a load was started for (no retry loop)
        self._worker = None
        self.following = False

    def follow(self) -> None:
        """From now on keep the project's current dataset loaded."""
        self.following = True
        self.document.schedule_analysis()  # which loads it

    def key(self) -> tuple | None:
        """The project's dataset choice as a comparable key (None: an unknown dataset)."""
        from dlstudio.data import DatasetError, get_dataset_spec

        ref = self.document.project.dataset
        try:
            options = get_dataset_spec(ref.name).check_options(dict(ref.options))
        except (DatasetError, KeyError, TypeError, ValueError):
            return None
        return ref.name, json.dumps(options, sort_keys=True, default=str)

    def set(self, dataset: Any) -> None:
        """``dataset`` is the one the project's current choice loads (None: forget it)."""
        from dlstudio.compile import describe_data

        self.dataset = dataset
        self._description = describe_data(dataset) if dataset is not None else None
        self._key = self.key() if dataset is not None else None
        self.changed.emit()

    def description(self):
        """The DataDescription of the current choice, or None while it is not loaded."""
        if self.dataset is None or self._key != self.key():
            return None
        return self._description

    def ensure(self) -> None:
        """Start loading the project's dataset when it is not loaded yet: built-in sets
        that need no download and no file chosen first (the Data panel loads the others
        when asked to)."""
        from dlstudio.data import get_dataset_spec

        if not self.following:
            return
        key = self.key()
        if key is None or key == self._key or key == self._tried:
            return
        spec = get_dataset_spec(key[0])
        options = json.loads(key[1])
        if not spec.offline or any(o.kind == "path" and not options.get(o.name) for o in spec.options):
            return
        self._tried = key
        from dlstudio.data import load_dataset
        from dlstudio.qt.background import create_worker

        seed = int(getattr(self.document.project.training, "seed", 0))
        from dlstudio.data.paths import base_folder

        worker = create_worker(load_dataset, key[0], options, seed, base_folder(self.document.project))
        worker.returned.connect(lambda d, k=key: self._loaded(k, d))
        self._worker = worker
        worker.start()

    def _loaded(self, key: tuple, dataset: Any) -> None:
        from shiboken6 import isValid

        if isValid(self) and key == self.key() and key != self._key:
            self.set(dataset)
