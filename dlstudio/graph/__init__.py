"""The layer graph: nodes, typed ports and edges, with psygnal change signals."""

from dlstudio.graph.model import Edge, Graph, GraphError, Node, PortRef
from dlstudio.graph.problems import Problem

__all__ = ["Edge", "Graph", "GraphError", "Node", "PortRef", "Problem"]
