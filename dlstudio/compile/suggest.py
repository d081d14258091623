"""Which layers make sense at a place in a graph: the suggestions of the editor's
"Insert layer" menus (after a node, before it, on an edge).

The candidates come from the rank of the tensor at that place (an image batch gets
convolution, pooling, normalisation, Flatten; a sequence gets recurrent layers and
1-D convolutions; a feature vector gets Dense, Dropout, ...). With Keras loaded each
candidate is then tried on the actual shape with its default settings (through the
shape pass' cache), and kept only if Keras accepts it and, on an edge, if what it gives
fits the input port it would feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio.catalog import UnknownLayerError, check_params, get_spec
from dlstudio.compile.infer import Analysis, Shape, fmt_shape, layer_result
from dlstudio.graph import Graph

#: Candidates per rank (batch axis included), most useful first.
BY_RANK: dict[int, tuple[str, ...]] = {
    2: ("Dense", "Dropout", "BatchNormalization", "Activation", "LayerNormalization", "GaussianNoise"),
    3: ("LSTM", "GRU", "Conv1D", "Dropout", "LayerNormalization", "GlobalAveragePooling1D",
        "MaxPooling1D", "Flatten", "Dense"),
    4: ("Conv2D", "MaxPooling2D", "BatchNormalization", "Dropout", "Flatten", "GlobalAveragePooling2D",
        "Activation", "SeparableConv2D", "UpSampling2D", "SpatialDropout2D"),
    5: ("Conv3D", "MaxPooling3D", "BatchNormalization", "Dropout", "Flatten", "GlobalAveragePooling3D"),
}
GENERIC: tuple[str, ...] = ("Dropout", "BatchNormalization", "Activation", "Flatten")


@dataclass(frozen=True)
class Suggestion:
    type: str
    output: Shape | None  # what it would give (None: not known without Keras)

    @property
    def text(self) -> str:
        return self.type if self.output is None else f"{self.type}  →  {fmt_shape(self.output)}"


def _port_ranks(graph: Graph, dst: str, dst_port: int) -> tuple[int, ...] | None:
    node = graph.node(dst)
    try:
        spec = get_spec(node.type)
    except UnknownLayerError:
        return None
    params, _ = check_params(node.type, node.params)
    ports = spec.input_ports(params)
    return ports[dst_port].ranks if dst_port < len(ports) else None


def suggest_layers(graph: Graph, analysis: Analysis | None, src: str, src_port: int = 0,
                   dst: str | None = None, dst_port: int = 0, *, check: bool = True,
                   limit: int = 6) -> list[Suggestion]:
    """Layers to insert after output ``src_port`` of ``src`` (and before input ``dst_port``
    of ``dst`` when given), best first. ``check=False`` skips asking Keras (not loaded yet)."""
    shape = analysis.shape_at(src, src_port) if analysis is not None else None
    candidates = BY_RANK.get(len(shape), GENERIC) if shape is not None else GENERIC
    ranks = _port_ranks(graph, dst, dst_port) if dst is not None else None
    found: list[Suggestion] = []
    for type_name in candidates:
        try:
            spec = get_spec(type_name)
        except UnknownLayerError:
            continue
        if shape is None or not check:
            found.append(Suggestion(type_name, None))
        else:
            port = spec.inputs[0] if spec.inputs else None
            if port is not None and port.ranks is not None and len(shape) not in port.ranks:
                continue
            try:
                out = layer_result(type_name, spec.defaults(), [shape]).output_shapes[0]
            except Exception:  # Keras refuses this layer on this shape
                continue
            if ranks is not None and len(out) not in ranks:
                continue
            found.append(Suggestion(type_name, out))
        if len(found) >= limit:
            break
    return found
