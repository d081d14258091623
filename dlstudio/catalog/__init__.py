"""The layer catalog: one registry of node types, derived from Keras itself.

Importing this package is cheap; Keras is imported the first time the catalog
itself is needed.
"""

from dlstudio.catalog.registry import (
    UnknownLayerError,
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
    "catalog", "categories", "check_params", "dropped_settings", "get_spec", "instantiate",
    "keras_kwargs", "node_type_of", "params_from_config",
]
