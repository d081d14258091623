"""The training panel's live curves, as a mixin of
:class:`~dlstudio.qt.panels.training.training_panel.TrainingPanel`: the numpy buffers behind
the plots (``series``: ``batch_raw``, ``batch_smooth``, ``lr`` and ``NAME`` / ``val_NAME``
per metric), the curves of the run a Continue starts from, and the redraw on the panel's
timer (only the curves whose data grew, the per-epoch plots one per tick). The panel's
event handler appends to the buffers; this draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlstudio.qt.panels.training.training_plots import SYMBOLS_UP_TO, Series, TrainingPlots


class TrainingCurves:
    """The live plots of the training panel and their data (a mixin: ``self`` is the panel)."""

    @property
    def plots(self) -> TrainingPlots:
        """The live plots (made on first use: pyqtgraph loads then, not at start-up),
        beside the live views (boundary, gradient flow) when a training sends them."""
        if self._plots is None:
            from dlstudio.qt.panels.training.live_views import LivePlotsPage

            self._plots = TrainingPlots(self)
            self._plots_page = LivePlotsPage(self._plots, self)
            self.live_views = self._plots_page.views
            self.stack.addWidget(self._plots_page)
        return self._plots

    def _series_for(self, base: str) -> None:
        for name in (base, f"val_{base}"):
            self.series.setdefault(name, Series())
        self.plots.ensure_metric(base)

    def _clear_plots(self) -> None:
        self.series = {name: Series() for name in ("batch_raw", "batch_smooth", "lr", "loss", "val_loss")}
        self._drawn: dict[str, int] = {}  # points each curve was last given
        self._curve_plot: dict[str, str] = {}  # curve name -> plot name
        if self._plots is not None:
            self._plots.reset()
        self.run_path = None
        self._dirty = False

    def _prefill_from(self, run_path: Path) -> None:
        """The epoch curves of the run a Continue starts from."""
        from dlstudio.runs import open_run

        try:
            history = open_run(run_path).history()
        except FileNotFoundError:
            return
        for key, values in history.items():
            if not isinstance(values, list) or key in ("learning_rate", "lr"):
                continue
            base = key.removeprefix("val_")
            self._series_for(base)
            self.series[key].extend(np.arange(1, len(values) + 1), values)
        lrs = history.get("learning_rate") or history.get("lr")
        if isinstance(lrs, list):
            self.series["lr"].extend(np.arange(1, len(lrs) + 1), lrs)
        self.run_path = run_path
        self._dirty = True
        self._tick(final=True)

    def _tick(self, final: bool = False) -> None:
        """Redraw (from the redraw timer, at most 20 times a second)."""
        if self._dirty:
            self._dirty = False
            # Only the curves whose data grew: most ticks touch the batch plot alone. At an
            # epoch's end the per-epoch plots are redrawn one per tick (not all in one frame).
            other_plot = None
            for name, curve in self.plots.curves.items():
                s = self.series.get(name)
                if s is None or self._drawn.get(name) == len(s):
                    continue
                plot = self._curve_plot.get(name)
                if plot is None:
                    plot = self._curve_plot[name] = next(
                        (p for p, item in self.plots.plots.items() if curve in item.listDataItems()), "")
                if plot != "batch" and not final:
                    if other_plot is None:
                        other_plot = plot
                    elif plot != other_plot:
                        self._dirty = True  # next tick
                        continue
                self._drawn[name] = len(s)
                curve.setData(s.x, s.y)
                if name not in ("batch_raw", "batch_smooth"):
                    self.plots.show_symbols(curve, len(s) <= SYMBOLS_UP_TO)
                if name == "lr":
                    top = float(np.nanmax(s.y)) if np.isfinite(s.y).any() else 1.0
                    self.plots.plot("lr").setYRange(0, top * 1.1 if top > 0 else 1.0, padding=0)
                elif name == "batch_raw":
                    self._fit_batch_y(s.y)
                    if len(s):
                        self.plots.follow_x(float(s.x[-1]))
        self._update_progress(final)

    def _fit_batch_y(self, y: np.ndarray) -> None:
        """Fit the batch-loss plot's y range to the data, with some slack: changing
        the range regenerates the axis and repaints the whole plot, so it changes
        only when the data leave the range or fill less than half of it."""
        finite = y[np.isfinite(y)]
        if not len(finite):
            return
        lo, hi = float(finite.min()), float(finite.max())
        plot = self.plots.plot("batch")
        (a, b) = plot.vb.viewRange()[1]
        span = max(hi - lo, 1e-12)
        if lo < a or hi > b or span < 0.5 * (b - a) or self._drawn.get("batch_y") is None:
            margin = 0.06 * span
            bottom = 0.0 if lo >= 0 and lo < 0.25 * hi else lo - margin
            plot.setYRange(bottom, hi + margin, padding=0)
            self._drawn["batch_y"] = 1
