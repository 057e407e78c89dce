"""The apply graph: one node per action that changes something and is not blocked; edges from
depends_on (a dependency already in place is no edge)."""

from __future__ import annotations

import graphlib

from reconciler.errors import ReconcileError
from reconciler.plan.schema import Action


def build_graph(actions: list[Action]) -> dict[str, list[str]]:
    """address → the addresses it waits for."""
    nodes = {a.address: a for a in actions if a.is_change and a.blocked is None}
    graph = {address: [d for d in action.depends_on if d in nodes] for address, action in nodes.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        cycle = list(reversed(error.args[1]))  # graphlib lists each dependency before its dependant
        raise ReconcileError(f"dependency cycle: {' → '.join(cycle)}") from None
    return graph
