"""Digests: of the desired state (its files as written, so no secret value enters), of an observed
resource (its kind decides what goes in, never a secret), and of a spec (the config-hash label)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_json(value: Any) -> str:
    """A stable digest of JSON-able data (keys sorted)."""
    return digest_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


ABSENT = digest_json({"absent": True})


def state_digest(directory: Path, files: Iterable[Path], variables: Iterable[tuple[str, str]] = ()) -> str:
    """Over each file's path (relative to the directory; a config's file may be beside it) and bytes (`${VAR}` stays a reference),
    and the values of the plain variables it reads where plan needs them (never a secret's)."""
    hasher = hashlib.sha256()
    for file in sorted(files):
        hasher.update(Path(os.path.relpath(file, directory)).as_posix().encode() + b"\0")
        hasher.update(file.read_bytes() + b"\0")
    for name, value in variables:
        hasher.update(f"${name}\0{value}\0".encode())
    return "sha256:" + hasher.hexdigest()
