"""`reconcile import` of the single files an unmanaged container bind-mounts from its host: each
becomes a compose config (a secret when it is mounted under /run/secrets), declared with a `file:`
in the repository where the user is to put it, and mounted at the same target. The file itself is
never read: the header says how to copy it (`docker cp`), so nothing of it reaches the output.

Why not keep the bind: a path on the host is not in the repository (an edit there never shows in a
plan), and a repository path does not exist on a remote host. The container is adopted as it runs
(the bind at a declared config's target counts as that config); its first apply then replaces it
once, healthy-first, with the file delivered through the Engine API."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

SECRETS_DIRECTORY = "/run/secrets/"
DIRECTORY_BIT = 1 << 31  # Go's os.ModeDir, in the engine's path stat


@dataclass(frozen=True)
class MountedFiles:
    """What import declares for one container's bind-mounted files."""

    mounts: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # configs / secrets → the service's mounts
    sources: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # configs / secrets → top-level entries
    copies: list[str] = field(default_factory=list)  # the commands that put each file in the repository
    targets: frozenset[str] = frozenset()


def file_targets(client: Any, record: dict[str, Any]) -> frozenset[str]:
    """The targets of the container's bind mounts that are single files (the engine's path stat,
    the content left unread)."""
    found = set()
    for mount in record.get("Mounts") or []:
        if mount.get("Type") != "bind":
            continue
        with contextlib.suppress(Exception):  # unreadable: left a bind mount, as it is
            stream, stat = client.get_archive(record["Id"], mount["Destination"])
            close = getattr(stream, "close", None)
            if callable(close):
                close()
            if not int(stat.get("mode", 0)) & DIRECTORY_BIT:
                found.add(mount["Destination"])
    return frozenset(found)


def _key(container: str, target: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", target.rstrip("/").rsplit("/", 1)[-1]) or "file"
    return f"{container}_{base}".lstrip("._-") or "file"


def mounted_files(container: str, volumes: list[str], targets: frozenset[str]) -> MountedFiles:
    """``volumes``: the container's (compose short syntax); ``targets``: those that are files."""
    result = MountedFiles(targets=frozenset(t for t in targets if any(v.split(":")[1:2] == [t] for v in volumes)))
    for target in sorted(result.targets):
        section = "secrets" if target.startswith(SECRETS_DIRECTORY) else "configs"
        key = _key(container, target)
        place = f"{section}/{container}/{target.rsplit('/', 1)[-1]}"
        result.sources.setdefault(section, {})[key] = {"file": f"../{place}"}
        result.mounts.setdefault(section, []).append({"source": key, "target": target})
        result.copies.append(f"docker cp {container}:{target} {place}")
    return result


def without_files(volumes: list[str], files: MountedFiles) -> list[str]:
    return [volume for volume in volumes if not _is_file(volume, files)]


def _is_file(volume: str, files: MountedFiles) -> bool:
    parts = volume.split(":")
    return len(parts) > 1 and parts[1] in files.targets
