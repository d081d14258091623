"""A GAN project: the generator and discriminator graphs and the checks across them.

The project's ``gan`` section names the two graphs (``"main"`` is the
project's ``graph``, any other name one of ``graphs``). Each graph is checked
on its own by the usual shape pass; this module adds what only the pair can
tell: the generator takes one latent vector of ``latent_dim`` values, the
discriminator ends in one unit, and the generator's output has exactly the
shape the discriminator's input expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlstudio.compile import Analysis, analyze, fmt_shape
from dlstudio.graph import Graph, Problem
from dlstudio.project.schema import MAIN_GRAPH, GanSettings
from dlstudio.errors import DLStudioError


class GanError(DLStudioError, ValueError):
    """A GAN project that cannot be trained or sampled; the message says why."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def is_gan(project: Any) -> bool:
    return getattr(project, "gan", None) is not None


def graph_names(project: Any) -> list[str]:
    """Every graph of a project, the main one first."""
    return [MAIN_GRAPH, *getattr(project, "graphs", {})]


def graph_named(project: Any, name: str) -> Graph:
    if name == MAIN_GRAPH:
        return project.graph
    try:
        return project.graphs[name]
    except KeyError:
        raise GanError(f"the project has no graph named {name!r} (its graphs: "
                       f"{', '.join(graph_names(project))})") from None


def role_title(project: Any, name: str) -> str:
    """"generator", "discriminator" or the graph's own name: how to call a graph to a person."""
    gan = getattr(project, "gan", None)
    if gan is not None:
        if name == gan.generator:
            return "generator"
        if name == gan.discriminator:
            return "discriminator"
    return "model" if name == MAIN_GRAPH else name


def output_activation(graph: Graph, node_id: str) -> str:
    """The activation that ends a node ("linear" when none): tanh, sigmoid, ..."""
    node = graph.node(node_id)
    act = node.params.get("activation", "linear")
    if node.type in ("Softmax", "ReLU", "LeakyReLU", "ELU", "PReLU"):
        return node.type.lower()
    return act if isinstance(act, str) and act else "linear"


#: The generator's output range for an output activation (None: unbounded).
OUTPUT_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0)}


@dataclass
class GanPair:
    """The two graphs of a GAN project, analysed, with their end nodes."""

    settings: GanSettings
    generator: Graph
    discriminator: Graph
    g_analysis: Analysis
    d_analysis: Analysis
    problems: list[Problem]  # the cross-graph ones, plus each graph's own errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def _one(self, analysis: Analysis, which: str) -> str | None:
        ids = getattr(analysis, which)
        return ids[0] if len(ids) == 1 else None

    @property
    def g_input(self) -> str | None:
        return self._one(self.g_analysis, "inputs")

    @property
    def g_output(self) -> str | None:
        return self._one(self.g_analysis, "outputs")

    @property
    def d_input(self) -> str | None:
        return self._one(self.d_analysis, "inputs")

    @property
    def d_output(self) -> str | None:
        return self._one(self.d_analysis, "outputs")

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """The shape of one generated sample, e.g. (8, 8, 1) or (2,)."""
        if self.g_output is None:
            return None
        shape = self.g_analysis.nodes[self.g_output].output_shape
        return tuple(shape[1:]) if shape is not None and None not in shape[1:] else None

    @property
    def output_range(self) -> tuple[float, float] | None:
        """What the generator's last activation allows: (-1, 1) for tanh, (0, 1) for sigmoid."""
        if self.g_output is None:
            return None
        return OUTPUT_RANGES.get(output_activation(self.generator, self.g_output))

    @property
    def d_gives_probability(self) -> bool:
        """True when the discriminator ends in a sigmoid (else it gives logits)."""
        return self.d_output is not None and output_activation(self.discriminator, self.d_output) == "sigmoid"


def gan_pair(project: Any, analyses: dict[str, Analysis] | None = None) -> GanPair:
    """The generator and discriminator of a GAN project with every problem found.

    ``analyses`` (graph name -> Analysis) reuses shape passes already done.
    Raises GanError when the project is not a GAN or names a missing graph.
    """
    gan = getattr(project, "gan", None)
    if gan is None:
        raise GanError("this project is not a GAN (it has no 'gan' settings)")
    analyses = dict(analyses or {})
    g = graph_named(project, gan.generator)
    d = graph_named(project, gan.discriminator)
    ga = analyses.get(gan.generator) or analyze(g)
    da = analyses.get(gan.discriminator) or analyze(d)
    pair = GanPair(gan, g, d, ga, da, [])
    pair.problems = _own_errors(pair) + cross_graph_problems(pair)
    return pair


def _own_errors(pair: GanPair) -> list[Problem]:
    out = []
    for role, analysis in (("generator", pair.g_analysis), ("discriminator", pair.d_analysis)):
        for p in analysis.errors:
            out.append(Problem(f"{role}: {p.message}", p.node_ids, p.port, p.hint, p.severity))
    return out


def _label(graph: Graph, node_id: str) -> str:
    node = graph.node(node_id)
    return f"{node.type} '{node.name}'"


def cross_graph_problems(pair: GanPair, only: str | None = None) -> list[Problem]:
    """What only the pair can tell (see the module docstring); located at the nodes concerned.

    Node ids are per graph: with ``only`` ("generator" or "discriminator") every
    problem keeps just the ids of that graph's nodes (an editor tab selects them),
    while its message still names the nodes of both."""
    gan, g, d = pair.settings, pair.generator, pair.discriminator
    ga, da = pair.g_analysis, pair.d_analysis
    problems: list[Problem] = []

    def ids(role: str, *node_ids: str | None) -> tuple[str, ...]:
        return tuple(i for i in node_ids if i is not None) if only in (None, role) else ()

    for role, graph, analysis in (("generator", g, ga), ("discriminator", d, da)):
        if len(analysis.inputs) != 1 or len(analysis.outputs) != 1:
            problems.append(Problem(
                f"the {role} needs exactly one Input and one output layer; it has "
                f"{len(analysis.inputs)} input(s) and {len(analysis.outputs)} output(s)",
                ids(role, *analysis.inputs, *analysis.outputs),
                hint="connect every layer into one chain from the Input to the output"))
    if pair.g_input is not None:
        shape = ga.nodes[pair.g_input].output_shape
        if shape is not None and tuple(shape) != (None, gan.latent_dim):
            problems.append(Problem(
                f"generator input {_label(g, pair.g_input)} has shape {fmt_shape(shape)}, but the "
                f"latent vector has {gan.latent_dim} values (gan.latent_dim)",
                ids("generator", pair.g_input), hint=f"set the Input's shape to [{gan.latent_dim}], or the latent size to match"))
    if pair.d_output is not None:
        shape = da.nodes[pair.d_output].output_shape
        if shape is not None and tuple(shape) != (None, 1):
            problems.append(Problem(
                f"discriminator output {_label(d, pair.d_output)} gives {fmt_shape(shape)}; a discriminator "
                "ends in one unit, its score for 'real'",
                ids("discriminator", pair.d_output), hint="end it with Dense(1) (no activation, or sigmoid)"))
        act = output_activation(d, pair.d_output)
        if act not in ("linear", "sigmoid"):
            problems.append(Problem(
                f"discriminator output {_label(d, pair.d_output)} uses '{act}'; its score must be a logit "
                "(no activation) or a probability (sigmoid)", ids("discriminator", pair.d_output),
                hint="set its activation to linear or sigmoid"))
    if pair.g_output is not None and pair.d_input is not None:
        made = ga.nodes[pair.g_output].output_shape
        wanted = da.nodes[pair.d_input].output_shape
        if made is not None and wanted is not None and tuple(made) != tuple(wanted):
            problems.append(Problem(
                f"generator output {_label(g, pair.g_output)} gives {fmt_shape(made)}, but discriminator "
                f"input {_label(d, pair.d_input)} expects {fmt_shape(wanted)}",
                ids("generator", pair.g_output) + ids("discriminator", pair.d_input),
                hint=f"make them equal, e.g. set the discriminator Input's shape to {list(made[1:])}"))
    return problems


def data_role(project: Any, name: str = MAIN_GRAPH) -> str | None:
    """How graph ``name`` of ``project`` meets the dataset: "model" (it trains on the samples
    and their labels), "samples" (it takes the samples only: a GAN's discriminator, whose
    output is real/fake) or None (a GAN's generator, fed with noise; any other extra graph)."""
    gan = getattr(project, "gan", None)
    if gan is None:
        return "model" if name == MAIN_GRAPH else None
    return "samples" if name == gan.discriminator else None


def analyze_graph(project: Any, name: str = MAIN_GRAPH, data: Any = None) -> Analysis:
    """The analysis of graph ``name`` with the checks against ``data`` (a Dataset or a
    DataDescription; None: none) that apply to it (see :func:`data_role`)."""
    role = data_role(project, name) if data is not None else None
    graph = graph_named(project, name)
    if role is None:
        return analyze(graph)
    return analyze(graph, data, loss=project.training.loss, targets=role == "model")


def extra_problems(project: Any, data: Any = None) -> list[Problem]:
    """What ``dlstudio validate`` adds to the main graph's problems for a project with
    several graphs: every other graph's problems (prefixed with its role; with ``data``,
    the discriminator's input against it) and, for a GAN, the checks across the pair.
    Empty for an ordinary project."""
    out: list[Problem] = []
    for name in getattr(project, "graphs", {}):
        title = role_title(project, name)
        for p in analyze_graph(project, name, data).problems:
            out.append(Problem(f"{title}: {p.message}", p.node_ids, p.port, p.hint, p.severity, p.fix))
    if is_gan(project):
        try:
            out += cross_graph_problems(gan_pair(project))
        except GanError as exc:
            out.append(Problem(str(exc)))
    return out


def dataset_problem(pair: GanPair, dataset: Any) -> str | None:
    """Why the discriminator cannot take ``dataset``'s samples (None: it can)."""
    from dlstudio.compile.data_fit import input_problem

    if pair.d_input is None:
        return None
    problem = input_problem(pair.discriminator, dataset)
    if problem is None or not problem.is_error:
        return None
    return f"discriminator {problem} (and the generator's output to match)"
