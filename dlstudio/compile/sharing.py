"""Shared layers: a node whose ``shares`` setting names another node uses that node's layer.

One set of weights applied to several inputs (a Siamese encoder, an embedding read by two
inputs, a layer a Keras model calls twice) is one Keras layer called more than once. In the
graph every call is a node of its own; all but the first name the first in ``shares``. The
model builder then calls one layer for all of them, and the shape pass counts the weights once
and checks that the nodes can share: same type, same settings, weights of the same shapes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dlstudio.catalog import check_params, get_spec
from dlstudio.graph import Fix, Node, Problem


def layer_settings(type_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The settings that make the layer (not how one node calls it, not what it shares)."""
    full, _ = check_params(type_name, params)
    spec = get_spec(type_name)
    return {p.name: full.get(p.name) for p in spec.params if not p.call and p.name != "shares"}


def apply_sharing(nodes: dict[str, Node], infos: dict[str, Any]) -> None:
    """Count the weights of sharing nodes once (on the node shared) and add a problem to a node
    that cannot share what it names. ``infos``: the shape pass' NodeInfo per node id, updated."""
    by_name: dict[str, list[Node]] = {}
    for n in nodes.values():
        by_name.setdefault(n.name, []).append(n)
    for nid, node in nodes.items():
        owner_name = node.params.get("shares") if isinstance(node.params, dict) else None
        if not owner_name or nid not in infos:
            continue
        info = infos[nid]
        problem = _problem(node, owner_name, by_name, infos)
        if problem is not None:
            infos[nid] = replace(info, problems=info.problems + (problem,))
        else:
            infos[nid] = replace(info, params=0, trainable_params=0, weights=())


def _problem(node: Node, owner_name: Any, by_name: dict[str, list[Node]], infos: dict[str, Any]) -> Problem | None:
    clear = Fix.set_params("Give it weights of its own", node.id, shares=None)
    me = f"{node.type} '{node.name}'"
    if not isinstance(owner_name, str):
        return Problem(f"{me}: shares must name a node", (node.id,), fix=clear)
    owners = by_name.get(owner_name, [])
    if owner_name == node.name:
        return Problem(f"{me} shares its own layer", (node.id,), hint="clear 'shares'", fix=clear)
    if len(owners) != 1:
        what = "no node" if not owners else f"{len(owners)} nodes"
        return Problem(f"{me} shares the layer of '{owner_name}', but there is {what} of that name",
                       (node.id,), hint="name an existing node in 'shares', or clear it", fix=clear)
    owner = owners[0]
    if owner.params.get("shares"):
        root = owner.params["shares"]
        return Problem(f"{me} shares the layer of '{owner_name}', which itself shares that of '{root}'",
                       (node.id, owner.id), hint=f"name '{root}' in 'shares'",
                       fix=Fix.set_params(f"Share '{root}'", node.id, shares=root))
    if owner.type != node.type:
        return Problem(f"{me} shares the layer of '{owner_name}', a {owner.type}", (node.id, owner.id),
                       hint="a node can only share the layer of a node of its own type", fix=clear)
    mine, theirs = layer_settings(node.type, node.params), layer_settings(owner.type, owner.params)
    differ = [k for k in theirs if mine.get(k) != theirs[k]]
    if differ:
        listing = ", ".join(f"{k} {mine.get(k)!r} vs {theirs[k]!r}" for k in differ[:3])
        return Problem(f"{me} shares the layer of '{owner_name}' but its settings differ ({listing})",
                       (node.id, owner.id), hint="a shared layer has one set of settings",
                       fix=Fix.set_params(f"Use the settings of '{owner_name}'", node.id,
                                          **{k: theirs[k] for k in differ}))
    got, want = infos[node.id].weights, infos.get(owner.id).weights if owner.id in infos else None
    if want is not None and [s for _, s, _ in got] != [s for _, s, _ in want]:
        return Problem(f"{me} shares the layer of '{owner_name}', but its inputs would need weights shaped "
                       f"{[s for _, s, _ in got]} where '{owner_name}' has {[s for _, s, _ in want]}",
                       (node.id, owner.id), hint="feed both nodes inputs of the same size")
    return None
