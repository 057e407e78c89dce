"""Compose configs as files in a container: the content (a repository file or the state's own
text) travels through the Engine API (an archive put into the container after create, before
start), so it works the same on a local, ssh:// or tcp:// host, with no file on the host. What each
mounted config is (name, content digest, owner, mode) is recorded in a label and compared like any
other field: a change plans a replace, shown with a bounded unified diff of the content."""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from reconciler.model.compose_fields import MAX_CONFIG_BYTES, ConfigMount
from reconciler.model.spec import ConfigSource

CONFIGS_LABEL = "reconciler.configs"
DIFF_LINES = 60  # of a plan's unified diff; past it, the diff says how many lines it left out
DIFF_LINE_CHARACTERS = 200
DIGEST_CHARACTERS = 16


def content_of(source: ConfigSource) -> bytes:
    if source.file is not None:
        return Path(source.file).read_bytes()[:MAX_CONFIG_BYTES]
    if source.environment is not None:
        return str(source.environment_value or "").encode()  # a plain variable (a secret's is refused at load)
    return (source.content or "").encode()


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:DIGEST_CHARACTERS]


def described(mount: ConfigMount, content: bytes) -> str:
    """What runs at a target, as the label records it and the plan shows it."""
    return f"{mount.source} sha256:{_digest(content)} uid={mount.uid} gid={mount.gid} mode={mount.mode:04o}"


def desired_configs(mounts: tuple[ConfigMount, ...], contents: Mapping[str, bytes]) -> dict[str, str]:
    """{target: description} of the configs a container mounts (``contents`` by config name)."""
    return {mount.target: described(mount, contents[mount.source]) for mount in mounts}


def content_changed(recorded: str | None, wanted: str) -> bool:
    """A mounted config whose content is not what the container's label records (not only its
    owner or mode changed): plan shows a diff of it, from what runs there where the label records one."""
    return recorded is None or recorded.split()[:2] != wanted.split()[:2]


def configs_label(configs: dict[str, str]) -> dict[str, str]:
    return {CONFIGS_LABEL: json.dumps(configs, sort_keys=True, separators=(",", ":"))} if configs else {}


def recorded_configs(labels: dict[str, Any]) -> dict[str, str]:
    try:
        recorded = json.loads(labels.get(CONFIGS_LABEL) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def archive(mounts: tuple[ConfigMount, ...], contents: Mapping[str, bytes]) -> bytes:
    """A tar of every config at its target (relative to /), with its owner and mode."""
    return archive_of([(mount, contents[mount.source]) for mount in mounts])


def archive_of(files: Iterable[tuple[ConfigMount, bytes]]) -> bytes:
    """A tar of each content at its mount's target (relative to /), with the mount's owner and mode."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for mount, content in files:
            info = tarfile.TarInfo(mount.target.lstrip("/"))
            info.size, info.mode, info.uid, info.gid = len(content), mount.mode, int(mount.uid), int(mount.gid)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def first_file(chunks: Iterator[bytes]) -> bytes | None:
    """The content of the one file in an engine's archive (get_archive), at most MAX_CONFIG_BYTES."""
    data = b"".join(chunks)
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            handle = tar.extractfile(member) if member is not None else None
            return handle.read(MAX_CONFIG_BYTES) if handle is not None else None
    except tarfile.TarError:
        return None


def unified_diff(target: str, before: bytes | None, after: bytes) -> str:
    """A bounded unified diff of a config's content (a plan renders it in a fenced block, so it
    cannot become markdown or HTML); binary content is only said to differ."""
    try:
        old = (before or b"").decode().splitlines()
        new = after.decode().splitlines()
    except UnicodeDecodeError:
        return f"--- {target}\n+++ {target}\n@@ binary content changed @@"
    lines = [
        line if len(line) <= DIFF_LINE_CHARACTERS else line[:DIFF_LINE_CHARACTERS] + "…"
        for line in difflib.unified_diff(old, new, fromfile=f"a{target}", tofile=f"b{target}", lineterm="")
    ]
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"… {len(lines) - DIFF_LINES} more lines of diff left out"]
    return "\n".join(lines)
