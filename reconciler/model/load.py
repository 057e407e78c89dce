"""A desired-state directory → one validated State, or a ConfigError carrying every problem with
its place. Files are read in path order and merged by top-level section."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from reconciler.errors import ConfigError, Diagnostic, ReconcileError
from reconciler.model.compose import is_extension, prepare, section_problem
from reconciler.model.diagnose import diagnostics_from
from reconciler.model.file_sources import at_their_variable, lend_secret_names, with_environment_values
from reconciler.model.interpolate import ENV_FILE, Mode, left_out_message, resolve, secrets_declared, variables_for
from reconciler.model.refs import check_references, repository_root
from reconciler.model.source import (
    Document,
    Path,
    Place,
    Position,
    SourceMap,
    key_position,
    read_document,
    value_position,
)
from reconciler.model.spec import IMPLICIT_HOST, SECTIONS, ConfigSource, Host, State
from reconciler.model.suggest import did_you_mean
from reconciler.startup import without_cycle_collection

RESOURCE_SECTIONS = (
    "hosts",
    "networks",
    "volumes",
    "configs",
    "secrets",
    "containers",
    "disk_budgets",
    "ec2_instances",
    "s3_buckets",
    "proxies",
)
LIST_SECTIONS = ("cost_docs",)


@dataclass(frozen=True)
class LoadedState:
    state: State
    directory: FsPath
    files: tuple[str, ...]  # as shown to the user
    paths: tuple[FsPath, ...]  # what the state digest covers: the YAML files, DIR/.env and the configs' files
    source: SourceMap
    warnings: tuple[Diagnostic, ...] = ()
    unknown: tuple[str, ...] = ()  # variables without a value at plan: what uses them is known at apply
    variables: tuple[tuple[str, str], ...] = ()  # plain variables the plan needs, with their values (digested)
    secrets: Mapping[tuple[str, str], tuple[str, ...]] | None = None  # (section, name) → the secrets it uses (names)
    valued: tuple[str, ...] = ()  # every variable that had a value (names only)


def state_files(directory: FsPath) -> list[FsPath]:
    """Every *.yaml / *.yml below ``directory``, sorted by path; hidden files and folders skipped."""
    found = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if path.suffix in (".yaml", ".yml") and path.is_file() and not any(p.startswith(".") for p in relative.parts):
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


class _Merger:
    """Merges documents section by section, remembering where each piece came from. A file's pieces
    are taken whole (their data and places, never copied); a mapping two files add to is copied once,
    when the second one arrives, so the cost is the size of what is merged, not of what is kept."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.source = SourceMap()
        self.problems: list[Diagnostic] = []
        self._shared: set[Path] = set()  # where the data and places are copies of our own, free to change

    def add(self, document: Document) -> None:
        places = document.source.entries
        for section, value in document.data.items():
            place = places[section]
            where = key_position(place)
            if is_extension(section):
                continue  # compose's x-* extensions: anchors to merge from, nothing to read
            if section_problem(section, value):
                self.problems.append(where.diagnostic(str(section_problem(section, value))))
            elif section not in SECTIONS:
                self.problems.append(where.diagnostic(f"unknown section {section!r}{did_you_mean(section, SECTIONS)}"))
            elif section == "version":
                if value != 1 or isinstance(value, bool):
                    self.problems.append(
                        value_position(place).diagnostic(
                            f"version: unsupported format version {value!r}; this reconcile reads version 1"
                        )
                    )
            elif value is None:
                self.source.entries.setdefault(section, place)
            elif section in LIST_SECTIONS and isinstance(value, list) and isinstance(self.data.get(section), list):
                items, item_places = self._own(self.data, self.source.entries, section, (section,))
                items.extend(value)
                item_places.extend(place[3] or ())
            else:
                depth = 1 if section in RESOURCE_SECTIONS else None
                self._merge(self.data, self.source.entries, section, value, place, (section,), depth)

    def _own(self, into: dict[str, Any], places: dict[str, Place], key: str, path: Path) -> tuple[Any, Any]:
        """``into[key]`` and its places, copied the first time we change them: a file's mapping may
        be shared by a YAML alias, and must not grow another file's keys."""
        if path not in self._shared:
            self._shared.add(path)
            into[key] = copy.copy(into[key])
            file, key_mark, value_mark, children = places[key]
            places[key] = (file, key_mark, value_mark, copy.copy(children))
        return into[key], places[key][3]

    def _merge(
        self, into: dict[str, Any], places: dict[str, Place], key: str, value: Any, place: Place, path: Path, depth: int | None
    ) -> None:
        """Put ``value`` at ``into[key]``; mappings merge key by key down to ``depth`` levels
        (None: all the way); anything else declared twice is an error naming both places."""
        if key not in into:
            into[key] = value
            places[key] = place
            return
        if isinstance(into[key], dict) and isinstance(value, dict) and isinstance(place[3], dict) and depth != 0:
            existing, existing_places = self._own(into, places, key, path)
            children = place[3]
            for child, item in value.items():
                self._merge(
                    existing, existing_places, child, item, children[child], (*path, child), None if depth is None else depth - 1
                )
            return
        first = key_position(places[key])
        here = key_position(place)
        what = f"{path[0]}.{path[1]}" if len(path) == 2 and path[0] in RESOURCE_SECTIONS else ".".join(map(str, path))
        self.problems.append(here.diagnostic(f"{what} is declared twice: here and at {first.file}:{first.line}"))


def _activate_compose_profiles(data: dict[str, Any], names: str | None) -> None:
    """COMPOSE_PROFILES (the environment's, or DIR/.env's), comma-separated, activates profiles as
    settings.profiles does, as compose reads it."""
    extra = [name.strip() for name in (names or "").split(",") if name.strip()]
    settings = data.get("settings") if data.get("settings") is not None else {}
    if not extra or not isinstance(settings, dict):
        return
    profiles = settings.get("profiles") or []
    profiles = [profiles] if isinstance(profiles, str) else profiles
    if isinstance(profiles, list):
        data["settings"] = {**settings, "profiles": [*profiles, *(n for n in extra if n not in profiles)]}


@without_cycle_collection
def load_state(
    directory: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    mode: Mode = "apply",
    application_secrets: frozenset[str] = frozenset(),
    withheld: frozenset[str] = frozenset(),
) -> LoadedState:
    """Load, merge, interpolate, validate and check references. Raises ConfigError with every
    located problem, or ReconcileError when there is no state to read at all. ``mode`` says what a
    variable without a value is (model/interpolate.py): a warning (validate), a value known at
    apply (plan), an error (apply). ``application_secrets`` are secret whatever the state says;
    ``withheld`` variables had no value at plan and get none now (their absence is explained)."""
    root = FsPath(directory)
    if not root.is_dir():
        raise ReconcileError(f"{root}: no such directory" if not root.exists() else f"{root}: not a directory")
    files = state_files(root)
    if not files:
        raise ReconcileError(f"{root}: no *.yaml or *.yml files")
    environ = os.environ if environ is None else environ
    if withheld:
        environ = {name: value for name, value in environ.items() if name not in withheld}
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
    secrets = secrets_declared(merger.data, application_secrets)
    variables, env_problems = variables_for(root, str(root), environ, secrets, mode, withheld)
    problems += with_environment_values(merger.data, merger.source, Position(displays[0], 1, 1))
    resolution = resolve(merger.data, merger.source, variables)
    lend_secret_names(resolution)
    problems += env_problems + resolution.problems
    data = resolution.data
    _activate_compose_profiles(data, variables.values.get("COMPOSE_PROFILES"))
    fallback = Position(displays[0], 1, 1)
    problems.extend(prepare(data, merger.source, fallback, repository_root(root)))
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
        raise ConfigError(at_their_variable(problems, merger.source))
    if state is None:  # validate only: a required value is unchecked for want of a variable
        state = State.model_construct(**{key: value for key, value in data.items() if key in RESOURCE_SECTIONS})
        state.hosts = state.hosts or {IMPLICIT_HOST: Host()}
    env_file = root / ENV_FILE
    paths = (*files, env_file) if env_file.is_file() else tuple(files)
    paths += tuple(sorted({FsPath(c.file) for c in state.configs.values() if isinstance(c, ConfigSource) and c.file}))
    return LoadedState(
        state,
        root,
        tuple(displays),
        paths,
        merger.source,
        tuple(sorted(set(at_their_variable(resolution.warnings, merger.source)))),
        tuple(resolution.unknown),
        tuple(sorted(resolution.plain.items())),
        {key: tuple(names) for key, names in resolution.secrets.items()},
        tuple(resolution.valued),
    )
