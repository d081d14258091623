"""Data augmentation, made visible: apply a graph's augmentation layers to one
sample several times, as training would (no Qt).

Augmentation layers (RandomFlip, RandomRotation, RandomZoom,
RandomTranslation, RandomCrop, RandomContrast) and GaussianNoise change their
input only in training mode: ``layer(x, training=True)``. In inference mode
(``model.predict``, ``model(x)``) they pass samples through unchanged --
except RandomCrop, which then crops the centre (resizing if needed) so the
output shape stays the same.

:func:`preview` builds fresh Keras layers from the nodes' parameters with
seeds derived from ``seed``, so the same seed always gives the same pictures
and another seed gives others; it never touches Keras' global random state.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
from dlstudio.errors import DLStudioError


#: Node types that :func:`preview` applies (the catalog's "Augmentation" category and GaussianNoise).
AUGMENTATION_TYPES: tuple[str, ...] = (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop", "RandomContrast",
    "GaussianNoise",
)


class AugmentationError(DLStudioError, ValueError):
    """Layers that cannot be applied to the sample (bad parameters, wrong shape)."""


def augmentation_nodes(graph: Any) -> list[Any]:
    """The graph's augmentation and noise nodes, in topological order (node order if it has a cycle)."""
    try:
        order = graph.topological_order()
    except Exception:  # a cycle is reported elsewhere; keep going with the insertion order
        order = [n.id for n in graph.nodes]
    return [graph.node(nid) for nid in order if graph.node(nid).type in AUGMENTATION_TYPES]


def _layer_list(source: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, display name, params) for a Graph, or for a list of nodes,
    ``(type, params)`` pairs, ``(type, name, params)`` triples or
    ``{"type": ..., "params": ...}`` dicts."""
    if hasattr(source, "topological_order") and hasattr(source, "nodes"):
        return [(n.type, n.name, dict(n.params)) for n in augmentation_nodes(source)]
    out = []
    for item in source:
        if hasattr(item, "type") and hasattr(item, "params"):
            out.append((item.type, getattr(item, "name", item.type), dict(item.params)))
        elif isinstance(item, dict):
            out.append((item["type"], item.get("name", item["type"]), dict(item.get("params") or {})))
        elif len(item) == 3:  # (type, name, params), as this function returns
            out.append((item[0], item[1], dict(item[2] or {})))
        else:
            type_name, params = item
            out.append((type_name, type_name, dict(params or {})))
    for type_name, name, _ in out:
        if type_name not in AUGMENTATION_TYPES:
            raise AugmentationError(f"{name}: {type_name} is not an augmentation layer "
                                    f"(those are {', '.join(AUGMENTATION_TYPES)})")
    return out


def build_layers(source: Any, seed: int = 0) -> list[Any]:
    """Fresh Keras layers for the augmentation nodes of ``source`` (see
    :func:`preview`), each seeded from ``seed`` and its position."""
    from dlstudio.catalog import check_params, get_spec, keras_kwargs

    layers = []
    for k, (type_name, name, params) in enumerate(_layer_list(source)):
        checked, errors = check_params(type_name, params)
        if errors:
            raise AugmentationError(f"{name}: {errors[0]}")
        kwargs = keras_kwargs(type_name, checked)
        try:
            layers.append(get_spec(type_name).cls(seed=int(seed) * 7919 + 101 * k + 1, **kwargs))
        except (TypeError, ValueError) as exc:
            raise AugmentationError(f"{name}: {exc}") from None
    return layers


def preview(source: Any, sample: np.ndarray, n: int = 16, seed: int = 0) -> np.ndarray:
    """``n`` augmented versions of one ``sample`` (H, W, C), as training would see them.

    ``source``: a Graph (its augmentation nodes, in topological order), or a
    list of nodes / ``(type, params)`` pairs / ``{"type", "params"}`` dicts.
    The layers run in training mode (``layer(x, training=True)``) on the
    sample n times. Deterministic for a ``seed``. Returns float32
    (n, H', W', C) -- H', W' differ from the sample's only with RandomCrop.
    With no augmentation layers, n copies of the sample.
    """
    x = np.asarray(sample, dtype=np.float32)
    if n < 1:
        raise AugmentationError("n must be at least 1")
    specs = _layer_list(source)
    layers = build_layers(specs, seed)
    if not layers:
        return np.repeat(x[None], n, axis=0)
    import keras

    outs = []
    for _ in range(n):
        t = x[None]
        for (_type, name, _params), layer in zip(specs, layers):
            try:
                t = layer(t, training=True)
            except Exception as exc:  # Keras says why (shape, rank); pass it on plainly
                raise AugmentationError(f"{name}: cannot apply to a sample of shape {x.shape}: "
                                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        outs.append(keras.ops.convert_to_numpy(t)[0])
    return np.stack(outs).astype(np.float32)
