"""The ``search`` section of a ``.dlsproj``: what an experiment (dlstudio.search) may vary.

Additive to format version 1: a file without ``search`` loads unchanged and is written
without it. The models check the *shape* of the section (keys, types, ranges); whether the
node ids, parameters and chains it names exist in the graph is checked by
:func:`dlstudio.search.space.space_problems` before a search starts, so a project whose
graph was edited after its space was defined still opens.

- ``params``: a node parameter (``node`` set) or a training setting (``node`` unset) searched
  over a choice list, an integer range or a float range (linear or log, optional step);
- ``optional``: a chain of nodes (a Dropout, a BatchNormalization) switched on or off;
- ``repeat``: a chain of nodes repeated ``min`` .. ``max`` times (0: left out);
- the ``objective`` (any recorded metric, minimised or maximised), the budget (``trials``
  and/or ``timeout`` seconds), the ``sampler`` and the ``pruner`` (fed the validation
  metric each epoch).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Id = Annotated[str, Field(min_length=1, max_length=100)]
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Bound = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]

MAX_DIMENSIONS = 100
MAX_CHOICES = 1000
MAX_REPEAT = 32
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "hyperband")


class SearchModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def check_choice(value: Any) -> Any:
    """A choice is plain JSON: a number, text, true/false, null, or a short list of them."""
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, str) and len(value) > 200:
            raise ValueError("a choice of text is at most 200 characters")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return value
    if isinstance(value, list) and len(value) <= 16 and all(
            isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v)) for v in value):
        return value
    raise ValueError(f"unsupported choice {value!r}: use a number, text, true/false or a short list of them")


class SearchParam(SearchModel):
    """One searched value: ``node``'s parameter ``param``, or the training setting ``param``."""

    name: Label | None = None  # what the study calls it (default: "<node name>.<param>" or the setting)
    node: Id | None = None  # a node id of the main graph; None: a training setting
    param: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Literal["choice", "int", "float"]
    choices: Annotated[list[Any], Field(max_length=MAX_CHOICES)] | None = None
    low: Bound | None = None
    high: Bound | None = None
    log: bool = False
    step: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] | None = None

    @field_validator("choices")
    @classmethod
    def _plain_choices(cls, v: list[Any] | None) -> list[Any] | None:
        return None if v is None else [check_choice(c) for c in v]

    @model_validator(mode="after")
    def _consistent(self) -> SearchParam:
        if self.kind == "choice":
            if not self.choices:
                raise ValueError("a choice needs a non-empty 'choices' list")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"an {self.kind} range needs 'low' and 'high'")
        if self.low > self.high:
            raise ValueError(f"'low' ({self.low:g}) is above 'high' ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs 'low' above 0")
        if self.log and self.step is not None:
            raise ValueError("a log range takes no 'step'")
        if self.kind == "int":
            for key in ("low", "high", "step"):
                value = getattr(self, key)
                if value is not None and float(value) != int(value):
                    raise ValueError(f"an int range needs a whole '{key}', got {value:g}")
        return self

    @property
    def label(self) -> str:
        return self.name or (f"{self.node}.{self.param}" if self.node else self.param)


class SearchChain(SearchModel):
    """A chain of nodes (each feeding the next, one input from outside): ``optional`` switches it
    on or off, ``repeat`` repeats it ``min`` .. ``max`` times."""

    name: Label
    nodes: Annotated[list[Id], Field(min_length=1, max_length=50)]


class SearchOptional(SearchChain):
    pass


class SearchRepeat(SearchChain):
    min: Annotated[int, Field(ge=0, le=MAX_REPEAT)] = 1
    max: Annotated[int, Field(ge=1, le=MAX_REPEAT)] = 3

    @model_validator(mode="after")
    def _ordered(self) -> SearchRepeat:
        if self.min > self.max:
            raise ValueError(f"'min' ({self.min}) is above 'max' ({self.max})")
        return self


class SearchObjective(SearchModel):
    """A metric the runs record (``val_accuracy``, ``test_loss``, ...) and which way is better."""

    metric: Annotated[str, Field(min_length=1, max_length=100)] = "val_loss"
    direction: Literal["minimize", "maximize"] = "minimize"


class SearchSettings(SearchModel):
    """A project's search space, objective, budget, sampler and pruner."""

    params: Annotated[list[SearchParam], Field(max_length=MAX_DIMENSIONS)] = Field(default_factory=list)
    optional: Annotated[list[SearchOptional], Field(max_length=MAX_DIMENSIONS)] = Field(default_factory=list)
    repeat: Annotated[list[SearchRepeat], Field(max_length=MAX_DIMENSIONS)] = Field(default_factory=list)
    objective: SearchObjective = Field(default_factory=SearchObjective)
    trials: Annotated[int, Field(ge=1, le=100_000)] | None = 20  # the study's trials in all
    timeout: Annotated[float, Field(gt=0, le=1e8, allow_inf_nan=False)] | None = None  # seconds
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["none", "median", "hyperband"] = "median"
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0

    def to_document(self) -> dict[str, Any]:
        """The section as the file holds it (a searched value's unset keys left out)."""
        doc = self.model_dump(mode="python")
        doc["params"] = [{k: v for k, v in p.items() if v is not None and not (k == "log" and v is False)}
                         for p in doc["params"]]
        return doc

    def param_for(self, node: str | None, param: str) -> SearchParam | None:
        """The searched value of ``node``'s ``param`` (a training setting: ``node`` None), if any."""
        return next((p for p in self.params if p.node == node and p.param == param), None)

    def with_param(self, searched: SearchParam) -> SearchSettings:
        """A copy where ``searched`` replaces the searched value of the same node and parameter."""
        params = [p for p in self.params if (p.node, p.param) != (searched.node, searched.param)]
        return self.model_copy(update={"params": [*params, searched]})

    def without_param(self, node: str | None, param: str) -> SearchSettings:
        return self.model_copy(update={"params": [p for p in self.params if (p.node, p.param) != (node, param)]})

    def is_empty(self) -> bool:
        return not (self.params or self.optional or self.repeat)

    def searched_nodes(self) -> set[str]:
        """The ids of the nodes with a searched parameter or in a searched chain (their badge)."""
        ids = {p.node for p in self.params if p.node}
        for chain in (*self.optional, *self.repeat):
            ids.update(chain.nodes)
        return ids
