"""From graph to model and back: shape inference, validation, compiler, importer, layout."""

from dlstudio.compile.build import CompileError, build_model, model_io
from dlstudio.compile.infer import Analysis, NodeInfo, ShapeInference, analyze, connection_problem, fmt_shape

__all__ = [
    "Analysis", "CompileError", "NodeInfo", "ShapeInference", "analyze", "build_model",
    "connection_problem", "fmt_shape", "model_io",
]
