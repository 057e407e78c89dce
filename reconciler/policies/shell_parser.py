"""bashlex, imported with its LALR tables read from a file shipped with reconcile instead of built.

bashlex's bundled ply builds the parse tables of its grammar at every import (it never reads or
writes a table file): ~0.1 s of CPU on a quiet machine, seconds under load, paid by every plan with a
``CMD-SHELL`` healthcheck. The tables are a pure function of the grammar, so
``reconciler/data/bashlex_tables.json`` holds them with the grammar's key (a hash of its start
symbol, precedence and productions). :func:`bashlex` imports bashlex with ply's table builder
swapped for a reader of that file, for that one import. When the installed bashlex's grammar has
another key (a new bashlex release), ply builds the tables as before: slower, the same parser.
Nothing is written at run time.

Regenerate the file after a bashlex upgrade (tests/unit/test_shell_parser.py says when)::

    python -m reconciler.policies.shell_parser > reconciler/data/bashlex_tables.json
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import importlib.util
import json
import sys
import threading
from importlib import resources
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_TABLES = "data/bashlex_tables.json"


def grammar_key(grammar: Any) -> str:
    """What the tables depend on: the start symbol, the precedence and every production, in order."""
    productions = [[p.name, list(p.prod), list(p.prec), p.func] for p in grammar.Productions[1:]]
    precedence = sorted([term, list(rule)] for term, rule in grammar.Precedence.items())
    text = json.dumps([grammar.Start, precedence, productions])
    return hashlib.sha256(text.encode()).hexdigest()


def _shipped() -> dict[str, Any] | None:
    try:
        text = resources.files("reconciler").joinpath(_TABLES).read_text(encoding="utf-8")
    except OSError:
        return None
    data: dict[str, Any] = json.loads(text)
    return data


def bashlex() -> ModuleType:
    """The bashlex module; its first import here reads the shipped tables when they fit its grammar."""
    with _lock:
        if "bashlex" in sys.modules:
            return sys.modules["bashlex"]
        shipped = _shipped()
        return _import(lambda grammar: _read(shipped, grammar))


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> tuple[Any, ...]:
    """bashlex's trees of ``text``, parsed once per run (the same check on many containers is one
    text). The trees are shared between callers: read them, never change them. Raises as bashlex."""
    return tuple(bashlex().parse(text))


def _read(shipped: dict[str, Any] | None, grammar: Any) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]] | None:
    if shipped is None or shipped.get("key") != grammar_key(grammar):
        return None
    action = {int(state): row for state, row in shipped["action"].items()}
    goto = {int(state): row for state, row in shipped["goto"].items()}
    return action, goto


def _import(tables_for: Any, on_built: Any = None) -> ModuleType:
    """Import bashlex with ply's LRTable asking ``tables_for(grammar)`` first (None: build them)."""
    spec = importlib.util.find_spec("bashlex")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'bashlex'", name="bashlex")
    package = importlib.util.module_from_spec(spec)
    sys.modules["bashlex"] = package  # bashlex/__init__ runs the grammar: its yacc module must be patched first
    try:
        from bashlex import yacc  # type: ignore[import-untyped]  # the submodule only: the package is not run yet

        built = yacc.LRTable

        class ShippedTable(built):  # type: ignore[misc,valid-type]
            def __init__(self, grammar: Any, log: Any = None) -> None:
                tables = tables_for(grammar)
                if tables is None:
                    super().__init__(grammar, log)
                    if on_built is not None:
                        on_built(grammar, self)
                    return
                self.grammar = grammar
                self.log = log
                self.lr_productions = grammar.Productions
                self.lr_action, self.lr_goto = tables
                self.sr_conflicts: list[Any] = []
                self.rr_conflicts: list[Any] = []

        yacc.LRTable = ShippedTable
        try:
            spec.loader.exec_module(package)
        finally:
            yacc.LRTable = built
    except BaseException:
        for name in [name for name in sys.modules if name == "bashlex" or name.startswith("bashlex.")]:
            del sys.modules[name]
        raise
    return package


def build() -> dict[str, Any]:
    """The tables ply builds for the installed bashlex's grammar, with its key (bashlex not yet imported)."""
    if "bashlex" in sys.modules:
        raise RuntimeError("bashlex is already imported: build the tables in a new process")
    made: dict[str, Any] = {}

    def keep(grammar: Any, table: Any) -> None:  # before bashlex's module-level corrections edit them
        made.update(key=grammar_key(grammar), action=copy.deepcopy(table.lr_action), goto=copy.deepcopy(table.lr_goto))

    _import(lambda grammar: None, keep)
    from importlib import metadata

    return {
        "bashlex": metadata.version("bashlex"),
        "key": made["key"],
        "action": {str(state): row for state, row in sorted(made["action"].items())},
        "goto": {str(state): row for state, row in sorted(made["goto"].items())},
    }


if __name__ == "__main__":
    json.dump(build(), sys.stdout, sort_keys=True, separators=(",", ":"))
    sys.stdout.write("\n")
