"""From graph to model and back: shape inference, validation, compiler, importer, layout."""

from dlstudio.compile.build import CompileError, build_model, model_io
from dlstudio.compile.data_fit import DataDescription, data_problems, describe_data
from dlstudio.compile.importer import (
    ModelImportError, apply_weights, graph_from_model, import_model_file, load_model_file,
)
from dlstudio.compile.infer import Analysis, NodeInfo, ShapeInference, analyze, connection_problem, fmt_shape
from dlstudio.compile.layout import layered_layout

__all__ = [
    "Analysis", "CompileError", "DataDescription", "ModelImportError", "NodeInfo", "ShapeInference", "analyze",
    "apply_weights", "build_model", "connection_problem", "data_problems", "describe_data", "fmt_shape",
    "graph_from_model",
    "import_model_file", "layered_layout", "load_model_file", "model_io",
]
