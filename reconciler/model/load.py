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
from reconciler.model.diagnose import diagnostics_from
from reconciler.model.interpolate import ENV_FILE, Mode, left_out_message, resolve, secrets_declared, variables_for
from reconciler.model.refs import check_references
from reconciler.model.source import Document, Path, Position, SourceMap, read_document
from reconciler.model.spec import IMPLICIT_HOST, SECTIONS, Host, State
from reconciler.model.suggest import did_you_mean

RESOURCE_SECTIONS = ("hosts", "containers", "disk_budgets", "ec2_instances", "s3_buckets")
LIST_SECTIONS = ("cost_docs",)


@dataclass(frozen=True)
class LoadedState:
    state: State
    directory: FsPath
    files: tuple[str, ...]  # as shown to the user
    paths: tuple[FsPath, ...]  # what the state digest covers: the YAML files and DIR/.env
    source: SourceMap
    warnings: tuple[Diagnostic, ...] = ()
    unknown: tuple[str, ...] = ()  # variables without a value at plan: what uses them is known at apply


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
            if section not in SECTIONS:
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


def load_state(directory: str | os.PathLike[str], environ: Mapping[str, str] | None = None, mode: Mode = "apply") -> LoadedState:
    """Load, merge, interpolate, validate and check references. Raises ConfigError with every
    located problem, or ReconcileError when there is no state to read at all. ``mode`` says what a
    variable without a value is (model/interpolate.py): a warning (validate), a value known at
    apply (plan), an error (apply)."""
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
        document = read_document(file, display)
        problems.extend(document.problems)
        merger.add(document)
    problems.extend(merger.problems)
    variables, env_problems = variables_for(root, str(root), environ, secrets_declared(merger.data), mode)
    resolution = resolve(merger.data, merger.source, variables)
    problems += env_problems + resolution.problems
    data = resolution.data
    fallback = Position(displays[0], 1, 1)
    reference_problems = check_references(data, merger.source, fallback, root)
    problems.extend(reference_problems)
    state = None
    try:
        state = State.model_validate(data)
    except ValidationError as error:
        for diagnostic in diagnostics_from(error, merger.source, fallback):
            if reference_problems and diagnostic.message.startswith("(top level)"):
                continue  # the same missing host or region, already reported at its place
            if left_out_message(resolution, diagnostic):
                continue
            problems.append(diagnostic)
    if problems:
        raise ConfigError(problems)
    if state is None:  # validate only: a required value is unchecked for want of a variable
        state = State.model_construct(**{key: value for key, value in data.items() if key in RESOURCE_SECTIONS})
        state.hosts = state.hosts or {IMPLICIT_HOST: Host()}
    env_file = root / ENV_FILE
    paths = (*files, env_file) if env_file.is_file() else tuple(files)
    return LoadedState(
        state, root, tuple(displays), paths, merger.source, tuple(sorted(set(resolution.warnings))), tuple(resolution.unknown)
    )
