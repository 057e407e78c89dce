"""`mode: markers`: only the text between `<!-- reconcile:cost KEY -->` and `<!-- /reconcile:cost -->`
is rewritten; every other character of the file stays as it was (line endings, a missing final
newline, hand-written text). Works on str decoded from the file's bytes, never on text-mode reads,
which would turn CRLF into LF."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import ConfigError, Diagnostic
from reconciler.model.suggest import did_you_mean

OPEN = re.compile(r"<!--\s*reconcile:cost\s+(?P<key>\S+)\s*-->")
CLOSE = re.compile(r"<!--\s*/reconcile:cost\s*-->")


@dataclass(frozen=True)
class Marker:
    key: str
    key_at: int  # offset of the key
    start: int  # offset of the first character between the markers
    end: int  # offset of the closing marker


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset (a CRLF counts as one line break)."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def find_markers(text: str, display: str) -> list[Marker]:
    """Every marker pair, in order; an opening marker without its closing one is an error at it."""
    markers: list[Marker] = []
    problems: list[Diagnostic] = []
    cursor = 0
    while (opening := OPEN.search(text, cursor)) is not None:
        closing = CLOSE.search(text, opening.end())
        following = OPEN.search(text, opening.end())
        if closing is None or (following is not None and following.start() < closing.start()):
            line, col = position(text, opening.start())
            problems.append(
                Diagnostic(
                    display, line, col, f"<!-- reconcile:cost {opening['key']} --> is never closed by <!-- /reconcile:cost -->"
                )
            )
            cursor = opening.end()
            continue
        markers.append(Marker(opening["key"], opening.start("key"), opening.end(), closing.start()))
        cursor = closing.end()
    if problems:
        raise ConfigError(problems)
    return markers


def current_values(text: str, display: str) -> dict[str, str]:
    """What the doc says now, by key (the last occurrence wins)."""
    return {marker.key: text[marker.start : marker.end] for marker in find_markers(text, display)}


def rewrite_markers(text: str, values: Mapping[str, str], display: str) -> str:
    """The text with each marker's content replaced by its value. Raises ConfigError naming every
    unknown key at its FILE:LINE:COL."""
    markers = find_markers(text, display)
    unknown = [marker for marker in markers if marker.key not in values]
    if unknown:
        problems = []
        for marker in unknown:
            line, col = position(text, marker.key_at)
            hint = did_you_mean(marker.key, list(values)) or "; known keys: " + ", ".join(sorted(values))
            problems.append(Diagnostic(display, line, col, f"unknown cost key {marker.key!r}{hint}"))
        raise ConfigError(problems)
    pieces: list[str] = []
    cursor = 0
    for marker in markers:
        pieces.append(text[cursor : marker.start])
        pieces.append(values[marker.key])
        cursor = marker.end
    pieces.append(text[cursor:])
    return "".join(pieces)
