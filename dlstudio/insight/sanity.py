"""Does a map depend on what the network learned? The model randomisation test.

Adebayo et al. ("Sanity Checks for Saliency Maps", 2018) re-initialise a trained
network's layers one at a time, *cascading* from the top (the output layer) down
to the input, and compare each map with the trained network's map. A method
that explains the model must change as the weights it learned are destroyed; a
method that gives nearly the same map for a random network is an edge detector
of the input, whatever it looks like.

:func:`randomization_check` ``(model, x, method, ...)`` does this on a copy of
the model (the trained one is never touched): the layers with weights are
re-initialised with their own initialisers (seeded), top first, and after each
one the map of the same class is compared with the trained model's map by the
Spearman rank correlation, averaged over the samples (scipy). The maps are
compared as they are shown: magnitudes for saliency, SmoothGrad and Grad-CAM,
signed values for Integrated Gradients and occlusion (:data:`SIGNED`), whose sign
says for or against the class. Adebayo et al. report both; so does this check
(``abs_correlations``): IG's *magnitudes* on an input with a black background
(digits) follow the input itself (IG is zero wherever the input equals the
all-zero baseline, and ``(x - b) *`` weights it by brightness), and the check says
so in its verdict rather than hiding it. :class:`RandomizationCheck` says
whether the fully randomised model's maps still correlate at :data:`THRESHOLD`
or more (the method fails the check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlstudio.insight.activations import InsightError, as_batch
from dlstudio.insight.attribution import METHOD_NAMES, attribute

THRESHOLD = 0.5
#: Methods whose maps are signed (for / against the class): compared with their sign.
SIGNED = ("ig", "occlusion")


@dataclass
class RandomizationCheck:
    """Rank correlations between the trained model's maps and each cascading randomisation's."""

    method: str
    layers: list[str]  # "trained", then the layer randomised at each step (top first)
    correlations: list[float]  # mean Spearman correlation of |map| with the trained map, per step
    spread: list[float] = field(default_factory=list)  # the standard deviation over the samples
    abs_correlations: list[float] = field(default_factory=list)  # the same for the maps' magnitudes
    samples: int = 0
    threshold: float = THRESHOLD

    @property
    def final(self) -> float:
        """The correlation with the fully randomised model's maps."""
        return float(self.correlations[-1])

    @property
    def passed(self) -> bool:
        return bool(self.final < self.threshold)

    @property
    def signed(self) -> bool:
        return self.method in SIGNED

    @property
    def magnitudes_pass(self) -> bool:
        return not self.abs_correlations or bool(self.abs_correlations[-1] < self.threshold)

    @property
    def verdict(self) -> str:
        name = METHOD_NAMES.get(self.method, self.method)
        shown = "signed maps" if self.signed else "maps"
        if self.passed:
            text = (f"{name} passes: with every layer randomised its {shown} correlate {self.final:.2f} with the "
                    f"trained model's (below {self.threshold}), so they depend on what the network learned")
            if not self.magnitudes_pass:
                text += (f"; but their magnitudes alone still correlate {self.abs_correlations[-1]:.2f}: they "
                         "follow the input (where it equals the baseline, every model's map is zero) more than "
                         "the network, so read the sign, not just the brightness")
            return text
        return (f"{name} FAILS: with every layer randomised its maps still correlate {self.final:.2f} with the "
                f"trained model's (at least {self.threshold}); they show the input more than the network")

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "layers": list(self.layers),
                "correlations": [round(float(c), 4) for c in self.correlations],
                "spread": [round(float(s), 4) for s in self.spread], "samples": self.samples,
                "signed": self.signed, "abs_correlations": [round(float(c), 4) for c in self.abs_correlations],
                "final": round(self.final, 4), "threshold": self.threshold, "passed": self.passed,
                "verdict": self.verdict}


def spearman(a: Any, b: Any) -> float:
    """The Spearman rank correlation of two maps (flattened); 0 when either is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    r = spearmanr(a, b).statistic
    return float(r) if np.isfinite(r) else 0.0


def weighted_layers(model: Any) -> list[Any]:
    """The layers with weights, top (output) first: the cascade's order."""
    return [layer for layer in reversed(model.layers) if layer.weights and type(layer).__name__ != "InputLayer"]


def _initializer(layer: Any, variable: Any) -> Any:
    name = str(getattr(variable, "name", "")).split("/")[-1].split(":")[0]
    for attr in (f"{name}_initializer", name.replace("_kernel", "") + "_initializer",
                 "recurrent_initializer" if "recurrent" in name else "", "depthwise_initializer"
                 if "depthwise" in name else "", "kernel_initializer" if "kernel" in name else ""):
        if attr and getattr(layer, attr, None) is not None:
            return getattr(layer, attr)
    return None


def _reinitialize(layer: Any, rng: np.random.Generator) -> None:
    """Give ``layer``'s variables fresh values from its own initialisers (seeded)."""
    import keras

    for v in layer.weights:
        shape, dtype = tuple(v.shape), v.dtype
        init = _initializer(layer, v)
        value = None
        if init is not None:
            config = init.get_config()
            if "seed" in config:
                init = type(init).from_config({**config, "seed": int(rng.integers(2 ** 31 - 1))})
            try:
                value = np.asarray(keras.ops.convert_to_numpy(init(shape, dtype=dtype)))
            except Exception:  # an initialiser we cannot call this way: a Glorot-like draw instead
                value = None
        if value is None:
            fan = sum(shape[-2:]) if len(shape) >= 2 else max(1, shape[0] if shape else 1)
            value = rng.uniform(-1, 1, size=shape) * np.sqrt(6.0 / fan)
        v.assign(np.asarray(value).astype(str(dtype)))


def model_copy(model: Any) -> Any:
    """A copy of a functional or sequential model with the same weights (its own variables)."""
    import keras

    try:
        copy = keras.models.clone_model(model)
    except Exception as exc:  # a layer that cannot be rebuilt from its config
        raise InsightError(f"the model cannot be copied for the randomisation test: {exc}") from None
    copy.set_weights(model.get_weights())
    return copy


def randomization_check(model: Any, x: Any, method: str = "saliency", class_index: Any = None, *,
                        seed: int = 0, emit: Callable[[int, int, str], None] | None = None,
                        should_stop: Callable[[], bool] | None = None, **options: Any) -> RandomizationCheck:
    """Cascading model randomisation for ``method`` on the samples ``x`` (one or a batch):
    the class explained is the trained model's choice (``class_index``, default its prediction)
    throughout. ``emit(done, total, layer)`` reports progress; ``should_stop()`` ends early
    (InsightError). ``options`` go to :func:`dlstudio.insight.attribution.attribute`."""
    batch, _ = as_batch(model, x)
    trained = attribute(model, batch, method, class_index, seed=seed, **options)
    classes = np.asarray(trained.classes)
    signed = method in SIGNED
    reference = np.asarray(trained.heat, np.float64)
    work = model_copy(model)
    layers = weighted_layers(work)
    if not layers:
        raise InsightError("the model has no layer with weights to randomise")
    rng = np.random.default_rng(seed)
    names, means, spreads, abs_means = ["trained"], [1.0], [0.0], [1.0]
    for k, layer in enumerate(layers):
        if should_stop is not None and should_stop():
            raise InsightError("the randomisation test was stopped")
        if emit is not None:
            emit(k, len(layers), layer.name)
        _reinitialize(layer, rng)
        heat = np.asarray(attribute(work, batch, method, classes, seed=seed, **options).heat, np.float64)
        r_abs = np.array([spearman(np.abs(a), np.abs(b)) for a, b in zip(reference, heat)])
        r = np.array([spearman(a, b) for a, b in zip(reference, heat)]) if signed else r_abs
        abs_means.append(float(r_abs.mean()))
        names.append(layer.name)
        means.append(float(r.mean()))
        spreads.append(float(r.std()))
    if emit is not None:
        emit(len(layers), len(layers), "")
    return RandomizationCheck(method, names, means, spreads, abs_means, len(batch))
