"""What fills a disk, read only: the numbers of the filesystem that holds a path, and what a Docker
engine keeps on it (the `GET /system/df` API: images, build cache, containers, volumes).

The filesystem is read where the engine runs. Today that is this machine: a host without a URL
(DOCKER_HOST, else the local socket), `unix://`, or `tcp://` to a loopback address, read with
`os.statvfs`. An ssh:// host is read with `df -P -k` over its own SSH connection (the one the Docker
API runs on). A remote tcp:// host raises `Unmeasurable`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import docker

from reconciler.errors import ReconcileError

if TYPE_CHECKING:
    import paramiko

LOOPBACK = ("localhost", "127.0.0.1", "::1")


class Unmeasurable(ReconcileError):
    """The filesystem of a path cannot be read (a remote host, a path that does not exist)."""


@dataclass(frozen=True)
class Filesystem:
    """A filesystem's space as `df` shows it: ``used + available`` is what Use% divides by (space
    reserved for root is neither)."""

    path: str
    used: int
    available: int
    device: int | None = None  # st_dev of the path, where it is local

    @property
    def usable(self) -> int:
        return self.used + self.available


@dataclass(frozen=True)
class CacheRecord:
    id: str
    type: str
    description: str
    size: int
    in_use: bool
    shared: bool  # its storage is also an image's: pruning the record frees nothing
    created_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class ImageUsage:
    id: str
    tags: tuple[str, ...]
    created: datetime  # the image's own creation time (what the engine's `until` filter reads)
    size: int
    shared_size: int  # bytes in layers other images have too

    @property
    def dangling(self) -> bool:
        return not [tag for tag in self.tags if tag != "<none>:<none>"]

    @property
    def unique_size(self) -> int:
        return max(0, self.size - max(0, self.shared_size))


@dataclass(frozen=True)
class ContainerUsage:
    id: str
    name: str
    image_id: str
    state: str  # running, exited, created, paused, dead, restarting
    created: datetime
    size: int  # its writable layer
    managed: bool  # labelled reconciler.managed=true

    @property
    def stopped(self) -> bool:
        return self.state in ("exited", "created", "dead")


@dataclass(frozen=True)
class VolumeUsage:
    name: str
    size: int  # -1 when the engine does not know
    ref_count: int


@dataclass(frozen=True)
class EngineUsage:
    """One `df` of an engine, with where it keeps its data."""

    root_dir: str
    layers_size: int  # the images' layers on disk, each counted once
    images: tuple[ImageUsage, ...]
    cache: tuple[CacheRecord, ...]
    containers: tuple[ContainerUsage, ...]
    volumes: tuple[VolumeUsage, ...]


def local_engine(url: str | None) -> bool:
    """An engine on this machine (its URL, else DOCKER_HOST, else the local socket): a unix socket or loopback tcp."""
    parts = urlsplit(url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    return parts.scheme in ("unix", "npipe") or (parts.scheme == "tcp" and parts.hostname in LOOPBACK)


def statvfs_of(path: str) -> Filesystem:
    try:
        stats = os.statvfs(path)
        device = os.stat(path).st_dev
    except OSError as error:
        raise Unmeasurable(f"cannot read the filesystem of {path}: {error.strerror or error}") from None
    return Filesystem(
        path=path,
        used=(stats.f_blocks - stats.f_bfree) * stats.f_frsize,
        available=stats.f_bavail * stats.f_frsize,
        device=device,
    )


def df_of(output: str, path: str) -> Filesystem:
    """`df -P -k PATH` output → the filesystem's numbers (1024-byte blocks)."""
    lines = output.strip().splitlines()
    match = re.match(r"^(.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.*)$", lines[-1]) if len(lines) >= 2 else None
    if match is None:
        raise Unmeasurable(f"cannot read the filesystem of {path}: unexpected df output: {lines[-1] if lines else '(none)'}")
    return Filesystem(path=path, used=int(match.group(3)) * 1024, available=int(match.group(4)) * 1024)


def df_over_ssh(ssh: paramiko.SSHClient, shown: str) -> Callable[[str], Filesystem]:
    """Read a path's filesystem with `df -P -k` over the host's own SSH connection (nothing runs in
    a container)."""
    import paramiko  # in use already: ``ssh`` is its client

    from reconciler.clients.ssh import run_command

    def measure(path: str) -> Filesystem:
        try:
            ran = run_command(ssh, ["df", "-P", "-k", path])
        except (paramiko.SSHException, OSError, EOFError) as error:
            raise Unmeasurable(f"cannot read the filesystem of {path} on {shown}: {error or type(error).__name__}") from None
        if ran.status != 0:
            said = (ran.stderr.strip().splitlines() or [f"df exited with {ran.status}"])[-1]
            raise Unmeasurable(f"cannot read the filesystem of {path} on {shown}: {said}")
        return df_of(ran.stdout, path)

    return measure


def filesystem_reader(url: str | None, shown: str, ssh: paramiko.SSHClient | None = None) -> Callable[[str], Filesystem]:
    """How to read a path's filesystem on the host whose engine is at ``url`` (``shown``: the URL as
    it may be printed; ``ssh``: the host's SSH connection, for an ssh:// host)."""
    if local_engine(url):
        return statvfs_of
    if ssh is not None:
        return df_over_ssh(ssh, shown)

    def remote(path: str) -> Filesystem:
        raise Unmeasurable(
            f"the filesystem of {path} on {shown} cannot be read yet: disk budgets read local hosts "
            "(unix:// or the local socket) until remote hosts are supported"
        )

    return remote


def same_filesystem(filesystem: Filesystem, root_dir: str) -> bool | None:
    """Does the engine keep its data on this filesystem? None when that cannot be told from here."""
    if filesystem.device is None or not root_dir:
        return None
    try:
        return os.stat(root_dir).st_dev == filesystem.device
    except OSError:
        return None


def engine_usage(client: docker.APIClient) -> EngineUsage:
    """One `df` call (the data root is left empty: see ``data_root``)."""
    return parse_usage(client.df(), "")


def data_root(client: docker.APIClient) -> str:
    """Where the engine keeps its data (`info`: as costly as a `df`, so asked only when it matters)."""
    return str(client.info().get("DockerRootDir") or "")


def parse_usage(df: dict[str, Any], root_dir: str) -> EngineUsage:
    return EngineUsage(
        root_dir=root_dir,
        layers_size=int(df.get("LayersSize") or 0),
        images=tuple(_image(record) for record in df.get("Images") or []),
        cache=tuple(_cache_record(record) for record in df.get("BuildCache") or []),
        containers=tuple(_container(record) for record in df.get("Containers") or []),
        volumes=tuple(_volume(record) for record in df.get("Volumes") or []),
    )


def _image(record: dict[str, Any]) -> ImageUsage:
    return ImageUsage(
        id=record["Id"],
        tags=tuple(record.get("RepoTags") or ()),
        created=datetime.fromtimestamp(int(record.get("Created") or 0), UTC),
        size=int(record.get("Size") or 0),
        shared_size=int(record.get("SharedSize") or 0),
    )


def _cache_record(record: dict[str, Any]) -> CacheRecord:
    return CacheRecord(
        id=record["ID"],
        type=record.get("Type") or "",
        description=record.get("Description") or "",
        size=int(record.get("Size") or 0),
        in_use=bool(record.get("InUse")),
        shared=bool(record.get("Shared")),
        created_at=moment(record.get("CreatedAt")),
        last_used_at=moment(record.get("LastUsedAt")),
    )


def _container(record: dict[str, Any]) -> ContainerUsage:
    names = [name.lstrip("/") for name in record.get("Names") or []]
    return ContainerUsage(
        id=record["Id"],
        name=names[0] if names else record["Id"][:12],
        image_id=record.get("ImageID") or "",
        state=record.get("State") or "",
        created=datetime.fromtimestamp(int(record.get("Created") or 0), UTC),
        size=int(record.get("SizeRw") or 0),
        managed=(record.get("Labels") or {}).get("reconciler.managed") == "true",
    )


def _volume(record: dict[str, Any]) -> VolumeUsage:
    usage = record.get("UsageData") or {}
    return VolumeUsage(name=record.get("Name") or "", size=int(usage.get("Size", -1)), ref_count=int(usage.get("RefCount", 0)))


def moment(text: str | None) -> datetime | None:
    """The engine's RFC 3339 time (nanoseconds are cut to microseconds) → datetime; None for none or
    its zero time."""
    if not text or text.startswith("0001-"):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
