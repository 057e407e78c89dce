"""bashlex's trees, read one way by both healthcheck policies (healthcheck.py: what a check runs;
healthcheck_lies.py: whether it can fail, what it probes): the children of a node — a compound
command's redirections included, as in `{ :; } > /dev/tcp/redis/6379` — and whether a word is
known before the shell runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

EXPANSIONS = frozenset({"parameter", "commandsubstitution", "processsubstitution", "tilde"})
"""Parts of a word whose text only the shell knows when it runs."""


def kind(node: Any) -> str | None:
    return getattr(node, "kind", None)


def children(node: Any) -> list[Any]:
    """A node's nodes, in source order: parts, list items, redirections, a command's command, a
    redirection's target."""
    found: list[Any] = []
    for attribute in ("parts", "list", "redirects"):
        value = getattr(node, attribute, None)
        if isinstance(value, list):
            found.extend(value)
    for attribute in ("command", "output"):
        value = getattr(node, attribute, None)
        if kind(value) is not None:
            found.append(value)
    return found


def walk(trees: Iterable[Any]) -> Iterator[Any]:
    """Every node under ``trees``, each before its children, in source order."""
    pending = list(trees)[::-1]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(reversed(children(node)))


def is_literal(word: Any) -> bool:
    """Does the word hold no expansion (its text is what the shell will use)?"""
    return isinstance(getattr(word, "word", None), str) and not any(kind(part) in EXPANSIONS for part in walk(children(word)))


def function_names(trees: Iterable[Any]) -> frozenset[str]:
    """The shell functions a script defines (a call of one runs no binary)."""
    names: set[str] = set()
    for node in walk(trees):
        if kind(node) == "function":
            name = getattr(next(iter(getattr(node, "parts", ())), None), "word", None)
            if isinstance(name, str):
                names.add(name)
    return frozenset(names)
