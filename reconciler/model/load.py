"""A desired-state directory → one validated State, or a ConfigError carrying every problem with
its place. Files are read in path order and merged by top-level section."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from reconciler.errors import ConfigError, Diagnostic, ReconcileError
from reconciler.model.compose import is_extension, prepare, section_problem
from reconciler.model.diagnose import diagnostics_from
from reconciler.model.refs import check_references
from reconciler.model.source import Document, Path, Position, SourceMap, read_document
from reconciler.model.spec import SECTIONS, State
from reconciler.model.suggest import did_you_mean

RESOURCE_SECTIONS = ("hosts", "networks", "volumes", "containers", "disk_budgets", "ec2_instances", "s3_buckets")
LIST_SECTIONS = ("cost_docs",)


@dataclass(frozen=True)
class LoadedState:
    state: State
    directory: FsPath
    files: tuple[str, ...]  # as shown to the user
    paths: tuple[FsPath, ...]
    source: SourceMap


def state_files(directory: FsPath) -> list[FsPath]:
    """Every *.yaml / *.yml below ``directory``, sorted by path; hidden files and folders skipped."""
    found = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if path.suffix in (".yaml", ".yml") and path.is_file() and not any(p.startswith(".") for p in relative.parts):
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


class _Merger:
    """Merges documents section by section, remembering where each piece came from."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.source = SourceMap()
        self.problems: list[Diagnostic] = []

    def add(self, document: Document) -> None:
        for section, value in document.data.items():
            where = document.source.keys[(section,)]
            if is_extension(section):
                continue  # compose's x-* extensions: anchors to merge from, nothing to read
            if section_problem(section, value):
                self.problems.append(where.diagnostic(str(section_problem(section, value))))
            elif section not in SECTIONS:
                self.problems.append(where.diagnostic(f"unknown section {section!r}{did_you_mean(section, SECTIONS)}"))
            elif section == "version":
                if value != 1 or isinstance(value, bool):
                    self.problems.append(
                        document.source.values[(section,)].diagnostic(
                            f"version: unsupported format version {value!r}; this reconcile reads version 1"
                        )
                    )
            elif value is None:
                self.source.keys.setdefault((section,), where)
            elif section in LIST_SECTIONS and isinstance(value, list) and isinstance(self.data.get(section), list):
                offset = len(self.data[section])
                self.data[section].extend(value)
                for index in range(len(value)):
                    self.source.update(document.source.moved((section, index), (section, offset + index)))
            else:
                depth = 1 if section in RESOURCE_SECTIONS else None
                self._merge(self.data, section, value, (section,), document.source, depth)

    def _merge(self, into: dict[str, Any], key: str, value: Any, path: Path, source: SourceMap, depth: int | None) -> None:
        """Put ``value`` at ``into[key]``; mappings merge key by key down to ``depth`` levels
        (None: all the way); anything else declared twice is an error naming both places."""
        if key not in into:
            into[key] = value
            self.source.update(_subtree(source, path))
            return
        existing = into[key]
        if isinstance(existing, dict) and isinstance(value, dict) and depth != 0:
            self.source.keys.setdefault(path, source.keys[path])
            for child, item in value.items():
                self._merge(existing, child, item, (*path, child), source, None if depth is None else depth - 1)
            return
        first = self.source.key_or_value(path)
        here = source.keys.get(path) or source.values[path]
        what = f"{path[0]}.{path[1]}" if len(path) == 2 and path[0] in RESOURCE_SECTIONS else ".".join(map(str, path))
        self.problems.append(
            here.diagnostic(
                f"{what} is declared twice: here and at {first.file}:{first.line}" if first else f"{what} is declared twice"
            )
        )


def _subtree(source: SourceMap, root: Path) -> SourceMap:
    size = len(root)
    return SourceMap(
        {path: pos for path, pos in source.keys.items() if path[:size] == root},
        {path: pos for path, pos in source.values.items() if path[:size] == root},
    )


def load_state(directory: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> LoadedState:
    """Load, merge, validate and check references. Raises ConfigError with every located problem,
    or ReconcileError when there is no state to read at all."""
    root = FsPath(directory)
    if not root.is_dir():
        raise ReconcileError(f"{root}: no such directory" if not root.exists() else f"{root}: not a directory")
    files = state_files(root)
    if not files:
        raise ReconcileError(f"{root}: no *.yaml or *.yml files")
    environ = os.environ if environ is None else environ
    merger = _Merger()
    problems: list[Diagnostic] = []
    displays = []
    for file in files:
        display = str(root / file.relative_to(root))
        displays.append(display)
        document = read_document(file, display, environ)
        problems.extend(document.problems)
        merger.add(document)
    problems.extend(merger.problems)
    fallback = Position(displays[0], 1, 1)
    problems.extend(prepare(merger.data, merger.source, fallback, environ))
    reference_problems = check_references(merger.data, merger.source, fallback, root)
    problems.extend(reference_problems)
    state = None
    try:
        state = State.model_validate(merger.data)
    except ValidationError as error:
        for diagnostic in diagnostics_from(error, merger.source, fallback):
            if reference_problems and diagnostic.message.startswith("(top level)"):
                continue  # the same missing host or region, already reported at its place
            problems.append(diagnostic)
    if problems or state is None:
        raise ConfigError(problems)
    return LoadedState(state, root, tuple(displays), tuple(files), merger.source)
