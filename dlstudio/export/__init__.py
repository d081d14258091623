"""Exporting trained runs: .keras, SavedModel, ONNX, TFLite, a standalone Python script,
and the graph as a PNG or SVG picture. No Qt here (the picture is drawn by a Qt child process)."""

from dlstudio.export.formats import FORMATS, ExportError, ExportFormat, format_from_path, get_format
from dlstudio.export.run_export import ExportResult, export_run

__all__ = ["FORMATS", "ExportError", "ExportFormat", "ExportResult", "export_run", "format_from_path",
           "get_format"]
