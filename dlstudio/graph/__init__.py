"""The layer graph: nodes, typed ports and edges, with psygnal change signals."""

from dlstudio.graph.blocks import Block
from dlstudio.graph.fixes import Fix, InsertNode, SetParams, SetTraining
from dlstudio.graph.model import Edge, Graph, GraphError, Node, PortRef
from dlstudio.graph.problems import Problem

__all__ = ["Block", "Edge", "Fix", "Graph", "GraphError", "InsertNode", "Node", "PortRef", "Problem", "SetParams",
           "SetTraining"]
