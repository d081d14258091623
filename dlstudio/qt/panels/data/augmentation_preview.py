"""The data panel's augmentation preview, as a mixin of
:class:`~dlstudio.qt.panels.data.data_panel.DataPanel`: the graph's augmentation layers
(RandomFlip, RandomRotation, ..., GaussianNoise) applied in training mode, sixteen times, to
the sample selected in the panel's image grid, on a worker thread (the latest request wins).
It reads the panel's ``document``, ``dataset`` and sample grid; it changes nothing else.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label, section_header


class AugmentationPreview:
    """Augmented versions of the selected sample (a mixin: ``self`` is the data panel)."""

    def _build_augmentation(self, right: QWidget, rl: QVBoxLayout) -> None:
        """The preview's header, explanation, buttons and grid, in the right column."""
        rl.addWidget(section_header("Augmentation preview", right))
        self.aug_info = muted_label("", right)
        rl.addWidget(self.aug_info)
        aug_buttons = QHBoxLayout()
        self.augment_button = QPushButton("Preview augmentation", right)
        self.augment_button.setToolTip("Apply the graph's augmentation layers in training mode, 16 times, "
                                       "to the selected sample")
        self.augment_button.clicked.connect(lambda: self.preview_augmentation())
        self.reshuffle_button = QToolButton(right)
        self.reshuffle_button.setText("Again")
        self.reshuffle_button.setToolTip("Sixteen more random versions")
        self.reshuffle_button.clicked.connect(lambda: self.preview_augmentation(self._aug_seed + 1))
        aug_buttons.addWidget(self.augment_button)
        aug_buttons.addWidget(self.reshuffle_button)
        aug_buttons.addStretch(1)
        rl.addLayout(aug_buttons)
        self.augment_grid = SampleGrid(right, columns=4, captions=False, selectable=False, target=40)
        rl.addWidget(self.augment_grid)
        self.aug_error = QLabel(right)
        self.aug_error.setWordWrap(True)
        self.aug_error.hide()
        rl.addWidget(self.aug_error)

    def preview_augmentation(self, seed: int | None = None) -> None:
        """Show 16 augmented versions of the selected sample (on a worker thread)."""
        from dlstudio.qt.keras_loader import keras_ready

        if seed is not None:
            self._aug_seed = seed
        sample = self._selected_sample()
        if sample is None or self.document is None:
            return
        if not keras_ready():
            self._set_aug_error("Keras is still loading; try again in a moment.")
            return
        from dlstudio.qt.background import create_worker

        from dlstudio.data.augment import augmentation_nodes, preview

        layers = [(n.type, n.name, dict(n.params)) for n in augmentation_nodes(self.document.graph)]
        if not layers:
            return
        self._aug_request += 1
        request = self._aug_request
        self.augment_button.setEnabled(False)
        self._set_aug_error(None)
        worker = create_worker(preview, layers, sample, 16, self._aug_seed)
        worker.returned.connect(lambda a, r=request: self._augmented(r, a))
        worker.errored.connect(lambda e, r=request: self._augment_failed(r, e))
        self._aug_worker = worker
        worker.start()

    def _sample_selected(self, _index: int) -> None:
        self._update_augmentation()

    def _selected_sample(self) -> np.ndarray | None:
        d = self.dataset
        if d is None or d.kind != "image" or d.x_train.ndim != 4 or not self.sample_grid.count():
            return None
        i = max(0, self.sample_grid.current())
        return d.x_train[int(self._sample_idx[i])]

    def _update_augmentation(self) -> None:
        from dlstudio.data.augment import augmentation_nodes

        nodes = augmentation_nodes(self.document.graph) if self.document is not None else []
        image = self.dataset is not None and self.dataset.kind == "image" and self.dataset.x_train.ndim == 4
        if not nodes:
            text = ("Add augmentation layers (RandomFlip, RandomRotation, RandomZoom, \u2026) or GaussianNoise "
                    "to the graph to see here what training makes of a sample.")
        elif not image:
            text = (" \u2192 ".join(n.name for n in nodes) + "\nThe preview works on image datasets.")
        else:
            text = (" \u2192 ".join(n.name for n in nodes)
                    + "\nActive only in training. Click a sample to preview it.")
        self.aug_info.setText(text)
        ok = bool(nodes) and image
        self.augment_button.setEnabled(ok)
        self.reshuffle_button.setEnabled(ok and self.augment_grid.count() > 0)
        if not ok:
            self.augment_grid.clear()
            self.augment_grid.hide()
        self._set_aug_error(None)

    def _augmented(self, request: int, images: np.ndarray) -> None:
        if not isValid(self) or request != self._aug_request:
            return
        self.augment_grid.set_samples(np.clip(images, 0.0, 1.0))
        self.augment_grid.show()
        self.augment_button.setEnabled(True)
        self.reshuffle_button.setEnabled(True)

    def _augment_failed(self, request: int, exc: BaseException) -> None:
        if not isValid(self) or request != self._aug_request:
            return
        self.augment_button.setEnabled(True)
        self._set_aug_error(str(exc) or type(exc).__name__)

    def _set_aug_error(self, message: str | None) -> None:
        self.aug_error.setText(message or "")
        self.aug_error.setVisible(bool(message))
