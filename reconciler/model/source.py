"""One YAML file → plain data (dict, list, str, int, float, bool, None) and a map of
where every key and value is written. Hostile input is refused before it is built: files above
MAX_FILE_BYTES, nesting deeper than MAX_DEPTH, and alias expansion beyond MAX_NODES."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml import events as yaml_events
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.parser import RoundTripParser

from reconciler.errors import Diagnostic

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def diagnostic(self, message: str) -> Diagnostic:
        return Diagnostic(self.file, self.line, self.col, message)


@dataclass
class SourceMap:
    """Where each path of the document is written: ``keys`` for the key, ``values`` for the value."""

    keys: dict[Path, Position] = field(default_factory=dict)
    values: dict[Path, Position] = field(default_factory=dict)

    def key_or_value(self, path: Path) -> Position | None:
        return self.keys.get(path) or self.values.get(path)

    def nearest(self, path: Path, prefer_key: bool = False) -> Position | None:
        """Where ``path`` is written (its key if ``prefer_key``, else its value), or else where
        its closest written ancestor's key is."""
        here = (self.keys.get(path) if prefer_key else None) or self.values.get(path)
        if here:
            return here
        for end in range(len(path) - 1, -1, -1):
            found = self.key_or_value(path[:end])
            if found:
                return found
        return None

    def update(self, other: SourceMap) -> None:
        for mine, theirs in ((self.keys, other.keys), (self.values, other.values)):
            for path, position in theirs.items():
                mine.setdefault(path, position)

    def moved(self, old: Path, new: Path) -> SourceMap:
        """This map with every path under ``old`` rewritten to start with ``new``."""

        def rewrite(table: dict[Path, Position]) -> dict[Path, Position]:
            size = len(old)
            return {(new + path[size:] if path[:size] == old else path): pos for path, pos in table.items()}

        return SourceMap(rewrite(self.keys), rewrite(self.values))


class _Constructor(RoundTripConstructor):
    """Timestamps stay text: the model parses them and insists on a time zone."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


def yaml_parser() -> YAML:
    """ruamel's round-trip parser (positions kept), reading timestamps as text as YAML 1.2 does."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Parser = _GuardedParser
    return yaml


class _Refused(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        self.line, self.col, self.message = line, col, message


class _ShapeGuard:
    """Watches the events as the composer takes them, measuring the depth and the size the
    document would have once aliases are expanded; refuses a bomb before it is built deeper (the
    composer never holds more than MAX_DEPTH levels, and aliases are shared, never copied)."""

    def __init__(self) -> None:
        self.anchored: dict[str, tuple[int, int]] = {}  # anchor → (values, height) of what it names
        self.stack: list[list[Any]] = []  # per open collection: [values so far, tallest child, anchor]
        self.total = 0

    def see(self, event: Any) -> None:
        if isinstance(event, (yaml_events.MappingStartEvent, yaml_events.SequenceStartEvent)):
            if len(self.stack) >= MAX_DEPTH:
                raise _Refused(
                    event.start_mark.line, event.start_mark.column, f"the document is nested deeper than {MAX_DEPTH} levels"
                )
            self.stack.append([1, 0, event.anchor])
            return
        if isinstance(event, (yaml_events.MappingEndEvent, yaml_events.SequenceEndEvent)):
            size, tallest, anchor = self.stack.pop()
            height = tallest + 1
            if anchor:
                self.anchored[anchor] = (size, height)
        elif isinstance(event, yaml_events.ScalarEvent):
            size, height = 1, 0
            if event.anchor:
                self.anchored[event.anchor] = (1, 0)
        elif isinstance(event, yaml_events.AliasEvent):
            size, height = self.anchored.get(event.anchor, (1, 0))
        else:
            return
        mark = event.start_mark
        if len(self.stack) + height > MAX_DEPTH:
            raise _Refused(mark.line, mark.column, f"the document is nested deeper than {MAX_DEPTH} levels (through its aliases)")
        if self.stack:
            self.stack[-1][0] += size
            self.stack[-1][1] = max(self.stack[-1][1], height)
            size = self.stack[-1][0]
        else:
            self.total += size
        if size > MAX_NODES or self.total > MAX_NODES:
            raise _Refused(
                mark.line, mark.column, f"the document expands to more than {MAX_NODES} values (an alias bomb?); refused"
            )


class _GuardedParser(RoundTripParser):
    """ruamel's round-trip parser, every event shown to a _ShapeGuard as the composer takes it:
    one pass over the text instead of a checking pass and a building pass."""

    def __init__(self, loader: Any) -> None:
        super().__init__(loader)
        self.guard = _ShapeGuard()

    def get_event(self) -> Any:
        event = super().get_event()
        self.guard.see(event)
        return event


_CORE_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null"))


class _Builder:
    """CommentedMap/Seq → plain data, recording positions and located problems."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.source = SourceMap()
        self.problems: list[Diagnostic] = []

    def at(self, line: int, col: int) -> Position:
        return Position(self.display, line + 1, col + 1)

    def build(self, node: Any, path: Path, where: Position) -> Any:
        tag = getattr(getattr(node, "tag", None), "value", None)
        if tag is not None and tag not in _CORE_TAGS:
            self.problems.append(
                where.diagnostic(f"{dotted(path)}: unsupported YAML tag {tag}; use plain mappings, lists and scalars")
            )
            return None
        if isinstance(node, CommentedMap):
            result: dict[str, Any] = {}
            for key, value in node.items():
                key_where = self._place(node, key, where, want_key=True)
                if not isinstance(key, str):
                    self.problems.append(
                        key_where.diagnostic(f"keys must be strings, got {type(key).__name__} {key!r}: quote it")
                    )
                    continue
                child = (*path, key)
                self.source.keys[child] = key_where
                value_where = self._place(node, key, key_where, want_key=False)
                self.source.values[child] = value_where
                result[key] = self.build(value, child, value_where)
            return result
        if isinstance(node, CommentedSeq):
            items = []
            for index, value in enumerate(node):
                try:
                    item_where = self.at(*node.lc.item(index))
                except (KeyError, TypeError, AttributeError):
                    item_where = where
                self.source.values[(*path, index)] = item_where
                items.append(self.build(value, (*path, index), item_where))
            return items
        if isinstance(node, str):
            return str(node)  # interpolated after the merge (model/interpolate.py)
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        tag = getattr(getattr(node, "tag", None), "value", None) or type(node).__name__
        self.problems.append(
            where.diagnostic(f"{dotted(path)}: unsupported YAML value ({tag}); use plain mappings, lists and scalars")
        )
        return None

    def _place(self, node: CommentedMap, key: Any, fallback: Position, want_key: bool) -> Position:
        try:
            line, col = node.lc.key(key) if want_key else node.lc.value(key)
        except (KeyError, TypeError, AttributeError):  # a key brought in by a merge (<<) has no place of its own
            return fallback
        return self.at(line, col)


def dotted(path: Path) -> str:
    """("containers", "web", "ports", 0) → ``containers.web.ports[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass
class Document:
    data: dict[str, Any]
    source: SourceMap
    problems: list[Diagnostic]


def _syntax_message(error: MarkedYAMLError) -> str:
    """ruamel's message, shortened: never echoes values (a duplicate key's value may be anything)."""
    problem = (error.problem or "invalid YAML").splitlines()[0]
    duplicate = re.match(r'found duplicate key "(.*?)" with value', problem)
    if duplicate:
        return f"duplicate key {duplicate.group(1)!r}: a key may appear only once in a mapping"
    if error.context and error.context_mark and error.context_mark is not error.problem_mark:
        return f"YAML syntax error: {problem} ({error.context}, started at line {error.context_mark.line + 1})"
    return f"YAML syntax error: {problem}"


def read_document(file: FsPath, display: str) -> Document:
    """Read one file. Problems come back as diagnostics, never as exceptions."""
    start = Position(display, 1, 1)

    def refused(message: str, line: int = 0, col: int = 0) -> Document:
        return Document({}, SourceMap(), [Diagnostic(display, line + 1, col + 1, message)])

    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return refused(f"file is larger than {MAX_FILE_BYTES // 1024} KiB; refused")
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return refused(f"not UTF-8 text ({error.reason})")
    except OSError as error:
        return refused(f"cannot read: {error.strerror}")
    yaml = yaml_parser()
    try:
        tree = yaml.load(text)
    except _Refused as error:
        return refused(error.message, error.line, error.col)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        return refused(_syntax_message(error), mark.line if mark else 0, mark.column if mark else 0)
    except (YAMLError, ValueError, RecursionError) as error:
        return refused(f"YAML syntax error: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
    except Exception as error:  # the YAML library failed on its own input: the file is unreadable YAML
        return refused(f"YAML error: the parser could not read this file ({type(error).__name__}); check its syntax")
    if tree is None:
        return Document({}, SourceMap(), [])
    if not isinstance(tree, CommentedMap):
        got = "a list" if isinstance(tree, CommentedSeq) else f"the value {tree!r}"
        return refused(f"the top level must be a mapping of sections (version, settings, containers, …), got {got}")
    builder = _Builder(display)
    data = builder.build(tree, (), start)
    return Document(data if isinstance(data, dict) else {}, builder.source, builder.problems)
