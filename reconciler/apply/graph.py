"""The apply graph: one node per action that changes something and is not blocked; edges from
depends_on (a dependency already in place is no edge)."""

from __future__ import annotations

from reconciler.errors import ReconcileError
from reconciler.plan.schema import Action


def build_graph(actions: list[Action]) -> dict[str, list[str]]:
    """address → the addresses it waits for."""
    nodes = {a.address: a for a in actions if a.is_change and a.blocked is None}
    graph = {address: [d for d in action.depends_on if d in nodes] for address, action in nodes.items()}
    _refuse_cycles(graph)
    return graph


def _refuse_cycles(graph: dict[str, list[str]]) -> None:
    done: set[str] = set()
    for start in graph:
        path: list[str] = []
        stack = [(start, iter(graph[start]))]
        on_path = {start}
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.discard(node)
                path.pop()
                done.add(node)
            elif child in on_path:
                cycle = path[path.index(child) :]
                raise ReconcileError(f"dependency cycle: {' → '.join([*cycle, child])}")
            elif child not in done:
                stack.append((child, iter(graph[child])))
                on_path.add(child)
                path.append(child)
