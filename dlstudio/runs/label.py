"""How a run is named to the user: one line, the same in every panel and command."""

from __future__ import annotations

from typing import Any

# the headline metric of a run, first one present wins
_HEADLINE = (("test_accuracy", "test accuracy", "{:.1%}"), ("test_mae", "test MAE", "{:.4g}"),
             ("test_loss", "test loss", "{:.4g}"), ("g_loss", "G loss", "{:.3g}"))


def run_label(run: Any) -> str:
    """``20261123-010101-ab12 · finished · 12 epochs · test accuracy 96.1%``."""
    parts = [run.id, run.status]
    epochs = run.info.get("epochs_done")
    if isinstance(epochs, int) and epochs > 0:
        parts.append(f"{epochs} epoch" + ("s" if epochs != 1 else ""))
    for key, name, fmt in _HEADLINE:
        value = run.metrics.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{name} {fmt.format(value)}")
            break
    return " \u00b7 ".join(parts)
