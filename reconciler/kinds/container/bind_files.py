"""Bind mounts from the repository: what a container mounts from the state's repository (a file,
or a directory's files) is part of its configuration, so an edit in a pull request plans a replace
that names the file. Each file's content digest is kept in a label of the container (never a
secret's value: these are the repository's own files). A bind source outside the repository is
the host's business: never read, never hashed.

Bounded: at most MAX_FILES files and MAX_BYTES bytes per container; past either, the container's
bind mounts are not hashed at all (a warning finding says so), never half-hashed. Symbolic links
inside a mounted directory are hashed by where they point, never followed."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.plan.schema import Finding
from reconciler.units import VolumeMount

FILES_LABEL = "reconciler.files"
MAX_FILES = 256
MAX_BYTES = 32 * 1024 * 1024
DIGEST_CHARACTERS = 16  # of the sha256 hex digest: enough to tell an edit, short enough for a label


@dataclass(frozen=True)
class BindFiles:
    """The repository files a container mounts: {path relative to the repository: digest}."""

    digests: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # the bind sources inside the repository, as declared (absolute)
    too_large: str = ""  # why nothing was hashed (past a bound), else empty

    def label(self) -> dict[str, str]:
        """The label that records the digests on the container (none when there is nothing to record)."""
        if not self.digests or self.too_large:
            return {}
        return {FILES_LABEL: json.dumps(self.digests, sort_keys=True, separators=(",", ":"))}


def in_repository(source: str, repository: Path) -> bool:
    """A bind source (an absolute path) that lies inside the repository, also once symlinks are followed."""
    if not source.startswith("/"):
        return False  # a named volume
    path = Path(source)
    return path.is_relative_to(repository) or path.resolve().is_relative_to(repository)


class _Budget:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def take(self, size: int) -> str:
        self.files += 1
        self.bytes += size
        if self.files > MAX_FILES:
            return f"more than {MAX_FILES} files"
        if self.bytes > MAX_BYTES:
            return f"more than {MAX_BYTES // (1024 * 1024)} MiB"
        return ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARACTERS]


def _file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()[:DIGEST_CHARACTERS]


def bind_files(volumes: tuple[VolumeMount, ...], repository: Path) -> BindFiles:
    """Each bind source inside ``repository``, hashed (see the module's bounds). A source that
    resolves outside the repository is left alone: never read."""
    repository = repository.resolve()
    sources = tuple(dict.fromkeys(v.source for v in volumes if v.is_bind and in_repository(v.source, repository)))
    digests: dict[str, str] = {}
    budget = _Budget()
    for source in sources:
        top = Path(source).resolve()
        if not top.is_relative_to(repository):
            continue  # a link out of the repository: the host's file, never read
        for path, link in _walk(top):
            name = Path(os.path.relpath(path, repository)).as_posix()
            if link is not None:
                digests[name] = _digest(f"symlink:{link}".encode())
                continue
            over = budget.take(path.stat().st_size)
            if over:
                return BindFiles({}, sources, f"{over} under {', '.join(_shown(s, repository) for s in sources)}")
            digests[name] = _file_digest(path)
    return BindFiles(digests, sources)


def _walk(top: Path) -> list[tuple[Path, str | None]]:
    """A file, or a directory's files (in a stable order), with a link's target instead of its content."""
    if top.is_file():
        return [(top, None)]
    if not top.is_dir():
        return []  # not there (yet): the engine makes an empty directory; nothing to hash
    found: list[tuple[Path, str | None]] = []
    for directory, subdirectories, files in os.walk(top):  # never follows a link to a directory
        subdirectories.sort()
        here = Path(directory)
        for name in sorted(files + [d for d in subdirectories if (here / d).is_symlink()]):
            path = here / name
            if path.is_symlink():
                found.append((path, os.readlink(path)))
            elif path.is_file():
                found.append((path, None))
    return found


def _shown(source: str, repository: Path) -> str:
    return Path(os.path.relpath(Path(source).resolve(), repository)).as_posix()


def recorded_files(labels: dict[str, Any]) -> dict[str, str]:
    """The digests a container was made with (its label); none when it has no such label."""
    try:
        recorded = json.loads(labels.get(FILES_LABEL) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def bind_findings(address: str, files: BindFiles, on_this_machine: bool, repository: Path) -> list[Finding]:
    """A repository path mounted on another machine's engine (an error: the path is the runner's,
    and the engine there would mount an empty directory), or too much to hash (a warning)."""
    if files.sources and not on_this_machine:
        shown = ", ".join(_shown(source, repository) for source in files.sources)
        return [
            Finding(
                severity="error",
                address=address,
                code="bind-from-repository-on-remote-host",
                message=f"bind mount of {shown} from the repository on a host that is not this machine: the path "
                "exists only where reconcile runs, and that host's engine would mount an empty directory instead",
                remedy="declare the file under the top-level configs: and mount it with the service's configs: "
                "(its content travels through the Engine API), or bake it into the image",
            )
        ]
    if files.too_large:
        return [
            Finding(
                severity="warning",
                address=address,
                code="bind-files-not-hashed",
                message=f"the repository files it bind-mounts are not followed: {files.too_large} "
                f"(the bounds: {MAX_FILES} files, {MAX_BYTES // (1024 * 1024)} MiB a container), so an edit to them "
                "plans no replace",
                remedy="mount only the files the container reads (one bind mount a file or a small directory), "
                "or bake the rest into the image",
            )
        ]
    return []
