"""One YAML file → plain data (dict, list, str, int, float, bool, None) and a map of
where every key and value is written. libyaml (through PyYAML's C extension) turns the text into
events, and one pass over them builds the data, its positions and the guards: hostile input is
refused before it is built: files above MAX_FILE_BYTES, nesting deeper than MAX_DEPTH, and alias
expansion beyond MAX_NODES. Plain scalars are typed as YAML 1.2 (ruamel's rules): ``yes`` and
``on`` stay text, timestamps stay text."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, TypeAlias

import yaml
from ruamel.yaml import events as ruamel_events
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import implicit_resolvers

from reconciler.errors import Diagnostic
from reconciler.startup import without_cycle_collection

libyaml: Any  # PyYAML's C extension (libyaml 0.2; ruamel.yaml.clib bundles 0.1.7, which refuses {image: app:1})
try:
    import yaml._yaml as libyaml
except ImportError:  # pragma: no cover - PyYAML built without libyaml: ruamel's own parser, same events, slower
    libyaml = None

# A real state of 10,000 containers is about 5 MB of YAML and 500,000 values, even in one file; the
# caps sit well above that and far below what would exhaust memory or time.
MAX_FILE_BYTES = 16 << 20
MAX_DEPTH = 64
MAX_NODES = 1_000_000

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def diagnostic(self, message: str) -> Diagnostic:
        return Diagnostic(self.file, self.line, self.col, message)


# Where one key and its value are written: (file, mark of the key or None for a list item, mark of
# the value, the places inside the value: a dict for a mapping, a list for a list, else None).
# Marks are the parser's own (0-based line and column); they become Positions only when asked.
Place: TypeAlias = "tuple[str, Any, Any, Children]"
Children: TypeAlias = "dict[str, Place] | list[Place] | None"


def _position(place: Place, key: bool) -> Position | None:
    mark = place[1] if key else place[2]
    return None if mark is None else Position(place[0], mark.line + 1, mark.column + 1)


def key_position(place: Place) -> Position:
    """Where a key is written (for a list item, which has none: where the item is)."""
    return _position(place, True) or value_position(place)


def value_position(place: Place) -> Position:
    return Position(place[0], place[2].line + 1, place[2].column + 1)


def _child(children: Children, part: str | int) -> Place | None:
    if isinstance(children, dict):
        return children.get(part) if isinstance(part, str) else None
    if not isinstance(children, list) or not isinstance(part, int) or isinstance(part, bool) or not 0 <= part < len(children):
        return None
    item: Place = children[part]
    return item


class _Lookup:
    """``source.keys`` / ``source.values``: the position of a path's key, or of its value."""

    def __init__(self, source: SourceMap, key: bool) -> None:
        self._source, self._key = source, key

    def get(self, path: Path) -> Position | None:
        place = self._source.place(path)
        return None if place is None else _position(place, self._key)

    def __getitem__(self, path: Path) -> Position:
        found = self.get(path)
        if found is None:
            raise KeyError(path)
        return found

    def __contains__(self, path: object) -> bool:
        return isinstance(path, tuple) and self.get(path) is not None


class SourceMap:
    """Where each path of the document is written, kept as a tree beside the data: ``entries`` holds
    the Place of each top-level key. Looking a path up costs its length; building it costs nothing
    beyond the parser's own marks."""

    def __init__(self, entries: dict[str, Place] | None = None) -> None:
        self.entries: dict[str, Place] = {} if entries is None else entries

    def _deepest(self, path: Path) -> tuple[Place | None, int]:
        """The place of the longest written prefix of ``path``, and that prefix's length."""
        found: Place | None = None
        depth = 0
        children: Children = self.entries
        for part in path:
            place = _child(children, part)
            if place is None:
                break
            found, depth, children = place, depth + 1, place[3]
        return found, depth

    def place(self, path: Path) -> Place | None:
        found, depth = self._deepest(path)
        return found if path and depth == len(path) else None

    @property
    def keys(self) -> _Lookup:
        return _Lookup(self, key=True)

    @property
    def values(self) -> _Lookup:
        return _Lookup(self, key=False)

    def nearest(self, path: Path, prefer_key: bool = False) -> Position | None:
        """Where ``path`` is written (its key if ``prefer_key``, else its value), or else where
        its closest written ancestor's key is."""
        found, depth = self._deepest(path)
        if found is None:
            return None
        if depth == len(path):
            return (_position(found, True) if prefer_key else None) or _position(found, False)
        return _position(found, True) or _position(found, False)


_CORE = "tag:yaml.org,2002:"
_COLLECTION_TAGS = {True: (None, "!", _CORE + "map"), False: (None, "!", _CORE + "seq")}
_SCALAR_TAGS = frozenset(("str", "int", "float", "bool", "null"))
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "y": True, "n": False}


@functools.cache
def _resolvers(version: tuple[int, int]) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """ruamel's implicit typing of plain scalars for one YAML version: first character → (tag, regex).
    Made on first use: a state in YAML 1.2 never compiles 1.1's."""
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for versions, tag, lazy, first in implicit_resolvers:
        if version in versions:
            pattern = re.compile(lazy.pattern, lazy.flags)  # compiled now: ruamel's wrapper costs a call per use
            for character in first:
                table.setdefault(character, []).append((tag[len(_CORE) :], pattern))
    return table


class LeadingZero(int):
    """A YAML 1.2 integer written with a leading zero (``0440``): decimal to YAML 1.2, octal to
    compose's YAML 1.1, so a file mode keeps how it was written (compose_fields.py)."""

    written: str

    def __new__(cls, value: int, written: str) -> LeadingZero:
        made = super().__new__(cls, value)
        made.written = written
        return made


def _integer(text: str, yaml_1_1: bool) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    if digits[:1] in ("+", "-"):
        digits = digits[1:]
    if digits[:2] in ("0b", "0o", "0x"):
        return sign * int(digits[2:], {"b": 2, "o": 8, "x": 16}[digits[1]])
    if yaml_1_1 and ":" in digits:
        return sign * int(_sexagesimal(digits, int))
    if yaml_1_1 and len(digits) > 1 and digits[0] == "0":
        return sign * int(digits, 8)
    if len(digits) > 1 and digits[0] == "0" and sign == 1:
        return LeadingZero(int(digits), digits)
    return sign * int(digits)


def _float(text: str, yaml_1_1: bool) -> float:
    digits = text.replace("_", "").lower()
    sign = -1 if digits.startswith("-") else 1
    if digits[:1] in ("+", "-"):
        digits = digits[1:]
    if digits in (".inf", ".nan"):
        return sign * float(digits[1:])
    if yaml_1_1 and ":" in digits:
        return sign * float(_sexagesimal(digits, float))
    return sign * float(digits)


def _sexagesimal(digits: str, kind: Any) -> Any:
    value = kind(0)
    for part in digits.split(":"):
        value = value * 60 + kind(part)
    return value


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _Refused(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        self.line, self.col, self.message = line, col, message


def _refused_at(mark: Any, message: str) -> _Refused:
    return _Refused(mark.line, mark.column, message)


def _either(name: str) -> frozenset[type]:
    """The event class of both parsers (PyYAML's for libyaml, ruamel's for the pure-Python one)."""
    return frozenset((getattr(yaml.events, name), getattr(ruamel_events, name)))


_SCALAR, _ALIAS, _DOCUMENT_START = _either("ScalarEvent"), _either("AliasEvent"), _either("DocumentStartEvent")
_MAPPING_START, _SEQUENCE_START = _either("MappingStartEvent"), _either("SequenceStartEvent")
_END = _either("MappingEndEvent") | _either("SequenceEndEvent")

_EXPECT_KEY, _MERGE, _DROP = object(), object(), object()  # what a mapping takes next, besides a key


class _Open:
    """A mapping or list being built, and what the guards know of it."""

    __slots__ = ("anchor", "bad_tag", "data", "is_map", "key", "key_mark", "mark", "merges", "path", "places", "size", "tallest")

    def __init__(self, is_map: bool, path: Path, mark: Any, anchor: str | None, bad_tag: bool) -> None:
        self.is_map, self.path, self.mark, self.anchor, self.bad_tag = is_map, path, mark, anchor, bad_tag
        self.data: Any = {} if is_map else []
        self.places: Any = {} if is_map else []
        self.size, self.tallest = 1, 0  # values once aliases are expanded; levels below
        self.key: Any = _EXPECT_KEY
        self.key_mark: Any = None
        self.merges: list[tuple[dict[str, Any], dict[str, Place]]] | None = None

    def child_path(self) -> Path:
        if not self.is_map:
            return (*self.path, len(self.data))
        return (*self.path, self.key) if isinstance(self.key, str) else (*self.path, "<<") if self.key is _MERGE else self.path


class _Reader:
    """Events → data and places, in one pass. Aliases share what their anchor built (data and
    places); the guards count the values and levels an alias stands for, so a bomb is refused at
    the alias that would make it, before anything is expanded."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.problems: list[Diagnostic] = []
        self.stack: list[_Open] = []
        self.anchored: dict[str, tuple[Any, Children, int, int]] = {}  # anchor → data, places, values, height
        self.total = 0
        self.documents = 0
        self.yaml_1_1 = False
        self.resolvers = _resolvers((1, 2))
        self.root: tuple[Any, Children, Any] | None = None

    def problem(self, mark: Any, path: Path, message: str) -> None:
        self.problems.append(Diagnostic(self.display, mark.line + 1, mark.column + 1, f"{dotted(path)}: {message}"))

    def read(self, events: Iterable[Any]) -> None:
        stack, display = self.stack, self.display
        for event in events:
            kind = type(event)
            if kind in _SCALAR:
                if stack and event.tag is None and event.anchor is None and self.is_text(event):
                    self.text_in(stack[-1], event.value, event.start_mark, display)
                else:
                    self.scalar(event)
            elif kind in _MAPPING_START:
                self.open(event, True)
            elif kind in _SEQUENCE_START:
                self.open(event, False)
            elif kind in _END:
                self.close()
            elif kind in _ALIAS:
                self.alias(event)
            elif kind in _DOCUMENT_START:
                if self.documents:
                    raise _refused_at(
                        event.start_mark, "YAML syntax error: expected a single document in the stream (found another document)"
                    )
                self.documents += 1
                self.yaml_1_1 = getattr(event, "version", None) == (1, 1)
                self.resolvers = _resolvers((1, 1) if self.yaml_1_1 else (1, 2))

    def is_text(self, event: Any) -> bool:
        """An untagged scalar that YAML 1.2 reads as a string (most of them: the fast path)."""
        text = event.value
        if event.implicit[0]:
            for _, pattern in self.resolvers.get(text[:1], ()):
                if pattern.match(text):
                    return False
        return True

    def text_in(self, top: _Open, value: str, mark: Any, display: str) -> None:
        """``put`` for a string without an anchor (what ``scalar`` and ``put`` would do, inlined)."""
        top.size += 1
        if top.size > MAX_NODES:
            raise _refused_at(mark, f"the document expands to more than {MAX_NODES} values (an alias bomb?); refused")
        key = top.key
        if top.is_map:
            if key is _EXPECT_KEY:
                top.key, top.key_mark = value, mark
                return
            top.key = _EXPECT_KEY
            if key is _DROP:
                return
        if not top.is_map:
            top.data.append(value)
            top.places.append((display, None, mark, None))
        elif key is _MERGE:
            self.merge(top, value, None, mark)
        elif key in top.data:
            self.problem(top.key_mark, top.path, f"duplicate key {key!r}: a key may appear only once in a mapping")
        else:
            top.data[key] = value
            top.places[key] = (display, top.key_mark, mark, None)

    def scalar(self, event: Any) -> None:
        text: str = event.value
        tag = event.tag
        top = self.stack[-1] if self.stack else None
        is_key = top is not None and top.is_map and top.key is _EXPECT_KEY
        if tag is None or tag == "!":
            kind = "str"
            if event.implicit[0]:
                for candidate, pattern in self.resolvers.get(text[:1], ()):
                    if pattern.match(text):
                        kind = candidate
                        break
            implicit = True
        elif tag.startswith(_CORE) and tag[len(_CORE) :] in _SCALAR_TAGS:
            kind, implicit = tag[len(_CORE) :], False
        else:
            path = top.child_path() if top else ()
            self.problem(event.start_mark, path, f"unsupported YAML tag {_shown_tag(tag)}; use plain mappings, lists and scalars")
            self.put(_DROP if is_key else None, None, event.start_mark, 1, 0, event.anchor)
            return
        value: Any
        if kind == "str" or kind == "timestamp":  # timestamps stay text: the model parses them, with a time zone
            value = text if is_key or top is None else self.text(text, event.start_mark, top)
        elif kind == "null":
            value = None
        elif kind == "merge" and is_key:
            value = _MERGE
        else:
            try:
                value = self.typed(kind, text, implicit)
            except (ValueError, KeyError):
                path = top.child_path() if top else ()
                self.problem(event.start_mark, path, f"invalid {'' if implicit else '!!'}{kind} {text!r}")
                value = _DROP if is_key else None
        self.put(value, None, event.start_mark, 1, 0, event.anchor)

    def text(self, text: str, mark: Any, top: _Open) -> str:
        return text  # interpolated after the merge (model/interpolate.py)

    def typed(self, kind: str, text: str, implicit: bool) -> Any:
        if kind == "bool":
            return _BOOLEANS[text.lower()] if not implicit or self.yaml_1_1 else text.lower() == "true"
        if kind == "int":
            return _integer(text, self.yaml_1_1)
        if kind == "float":
            return _float(text, self.yaml_1_1)
        return text  # "merge" or "value" where a key is not expected: plain text

    def open(self, event: Any, is_map: bool) -> None:
        stack = self.stack
        if len(stack) >= MAX_DEPTH:
            raise _refused_at(event.start_mark, f"the document is nested deeper than {MAX_DEPTH} levels")
        top = stack[-1] if stack else None
        path = top.child_path() if top else ()
        tag = event.tag
        bad_tag = tag not in _COLLECTION_TAGS[is_map]
        if bad_tag:
            self.problem(event.start_mark, path, f"unsupported YAML tag {_shown_tag(tag)}; use plain mappings, lists and scalars")
        stack.append(_Open(is_map, path, event.start_mark, event.anchor, bad_tag))

    def close(self) -> None:
        done = self.stack.pop()
        if done.merges:
            data, places = done.data, done.places
            for merged, merged_places in done.merges:  # keys written here win, then the first merged mapping
                for key, item in merged.items():
                    if key not in data:
                        data[key] = item
                        places[key] = merged_places[key]
        value, places = (None, None) if done.bad_tag else (done.data, done.places)
        self.put(value, places, done.mark, done.size, done.tallest + 1, done.anchor)

    def alias(self, event: Any) -> None:
        found = self.anchored.get(event.anchor)
        if found is None:
            raise _refused_at(event.start_mark, f"YAML syntax error: found undefined alias {event.anchor!r}")
        value, places, size, height = found
        self.put(value, places, event.start_mark, size, height, None)

    def put(self, value: Any, places: Children, mark: Any, size: int, height: int, anchor: str | None) -> None:
        """One finished value (scalar, alias or collection) into the collection being built."""
        if anchor:
            shared = "<<" if value is _MERGE else None if value is _DROP else value
            self.anchored[anchor] = (shared, places, size, height)
        stack = self.stack
        if len(stack) + height > MAX_DEPTH:
            raise _refused_at(mark, f"the document is nested deeper than {MAX_DEPTH} levels (through its aliases)")
        if not stack:
            self.total += size
            if self.total > MAX_NODES:
                raise _refused_at(mark, f"the document expands to more than {MAX_NODES} values (an alias bomb?); refused")
            self.root = (value, places, mark)
            return
        top = stack[-1]
        top.size += size
        if height > top.tallest:
            top.tallest = height
        if top.size > MAX_NODES:
            raise _refused_at(mark, f"the document expands to more than {MAX_NODES} values (an alias bomb?); refused")
        if not top.is_map:
            top.data.append(value)
            top.places.append((self.display, None, mark, places))
            return
        key = top.key
        if key is _EXPECT_KEY:
            if type(value) is str or value is _MERGE or value is _DROP:
                top.key, top.key_mark = value, mark
            else:
                self.problem(mark, top.path, f"keys must be strings, got {_key_kind(value)}")
                top.key = _DROP
            return
        top.key = _EXPECT_KEY
        if key is _DROP:
            return
        if key is _MERGE:
            self.merge(top, value, places, mark)
        elif key in top.data:
            self.problem(top.key_mark, top.path, f"duplicate key {key!r}: a key may appear only once in a mapping")
        else:
            top.data[key] = value
            top.places[key] = (self.display, top.key_mark, mark, places)

    def merge(self, top: _Open, value: Any, places: Children, mark: Any) -> None:
        """``<<: *defaults`` or ``<<: [*a, *b]``: what a mapping takes from others (YAML's merge key)."""
        if top.merges is not None:
            self.problem(top.key_mark, top.path, "duplicate key '<<': a key may appear only once in a mapping")
        elif isinstance(value, dict) and isinstance(places, dict):
            top.merges = [(value, places)]
        elif isinstance(value, list) and isinstance(places, list) and all(isinstance(item, dict) for item in value):
            top.merges = [(item, place[3]) for item, place in zip(value, places, strict=True) if isinstance(place[3], dict)]
        else:
            self.problem(mark, (*top.path, "<<"), "a merge key (<<) takes a mapping, or a list of mappings, to merge in")


def _key_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null: quote it"
    return f"{type(value).__name__} {value!r}: quote it"


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


def _syntax_message(error: MarkedYAMLError | yaml.MarkedYAMLError) -> str:
    """The parser's message, shortened to its first line."""
    problem = (error.problem or "invalid YAML").splitlines()[0]
    if problem.startswith("exceeded maximum nesting depth"):  # libyaml's own limit (1,000) is far above ours
        return f"the document is nested deeper than {MAX_DEPTH} levels"
    if error.context and error.context_mark and error.context_mark is not error.problem_mark:
        return f"YAML syntax error: {problem} ({error.context}, started at line {error.context_mark.line + 1})"
    return f"YAML syntax error: {problem}"


def events(text: str) -> Iterator[Any]:
    """The YAML events of ``text``: libyaml's parser, or ruamel's own where the C extension is missing."""
    if libyaml is None:  # pragma: no cover - see the import
        return pure_events(text)
    return iter(libyaml.CParser(text).get_event, None)


def pure_events(text: str) -> Iterator[Any]:
    """The same events from ruamel's pure-Python parser (slower; the reference the tests compare with)."""
    from ruamel.yaml import YAML

    return iter(YAML(typ="safe", pure=True).parse(text))


def read_document(file: FsPath, display: str) -> Document:
    """Read one file. Problems come back as diagnostics, never as exceptions."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return _refused(display, f"file is larger than {MAX_FILE_BYTES >> 20} MiB; refused")
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return _refused(display, f"not UTF-8 text ({error.reason})")
    except OSError as error:
        return _refused(display, f"cannot read: {error.strerror}")
    return parse_document(text, display)


@without_cycle_collection
def parse_document(text: str, display: str, parse: Any = events) -> Document:
    """One file's text → its Document; ``parse`` turns text into YAML events."""
    reader = _Reader(display)
    try:
        reader.read(parse(text))
    except _Refused as error:
        return _refused(display, error.message, error.line, error.col)
    except yaml.reader.ReaderError as error:  # a character YAML refuses; libyaml counts its place in UTF-8 bytes
        before = text.encode("utf-8")[: error.position].decode("utf-8", "replace")
        line, col = before.count("\n"), len(before) - before.rfind("\n") - 1
        return _refused(display, f"YAML syntax error: {str(error).splitlines()[0]}", line, col)
    except (MarkedYAMLError, yaml.MarkedYAMLError) as error:
        mark = error.problem_mark or error.context_mark
        return _refused(display, _syntax_message(error), mark.line if mark else 0, mark.column if mark else 0)
    except (YAMLError, yaml.YAMLError, ValueError, RecursionError) as error:
        return _refused(display, f"YAML syntax error: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
    if reader.root is None:
        return Document({}, SourceMap(), reader.problems)
    tree, places, _ = reader.root
    if isinstance(tree, dict) and isinstance(places, dict):
        return Document(tree, SourceMap(places), reader.problems)
    if tree is None or reader.problems:  # an empty document, or a top level already reported
        return Document({}, SourceMap(), reader.problems)
    got = "a list" if isinstance(tree, list) else f"the value {tree!r}"
    return _refused(display, f"the top level must be a mapping of sections (version, settings, containers, …), got {got}")


def _refused(display: str, message: str, line: int = 0, col: int = 0) -> Document:
    return Document({}, SourceMap(), [Diagnostic(display, line + 1, col + 1, message)])
