"""The layer catalog: one registry of node types, derived from Keras itself.

Importing this package is cheap. The catalog comes from a disk cache when it was derived by
the same Keras and DL Studio (catalog/disk.py); otherwise Keras is imported to derive it.
"""

from dlstudio.catalog.registry import (
    UnknownLayerError,
    cached_catalog,
    catalog,
    categories,
    check_params,
    get_spec,
    instantiate,
    keras_kwargs,
)
from dlstudio.catalog.specs import LayerSpec, ParamError, ParamSpec, PortSpec
from dlstudio.catalog.from_keras import NotInCatalogError, dropped_settings, node_type_of, params_from_config

__all__ = [
    "LayerSpec", "NotInCatalogError", "ParamError", "ParamSpec", "PortSpec", "UnknownLayerError",
    "cached_catalog", "catalog", "categories", "check_params", "dropped_settings", "get_spec", "instantiate",
    "keras_kwargs", "node_type_of", "params_from_config",
]
