"""A small tmpfs mounted where a test's state directory is, to fill up for real (ENOSPC from the
kernel, not a mock): `mounted_tmpfs(path)` mounts it (root only; the test is skipped otherwise) and
unmounts it afterwards; `fill(path, pages_left)` fills it with page-sized files until the kernel
refuses one, then frees `pages_left` pages again (`release` frees the rest)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE = 4096


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: str = "256k") -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("a tmpfs mount needs root")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path, pages_left: int = 0) -> list[Path]:
    """Page-sized filler files in ``path`` until the disk is full, then ``pages_left`` of them removed."""
    fillers: list[Path] = []
    while True:
        filler = path / f"filler-{len(fillers)}"
        try:
            with filler.open("wb") as out:
                out.write(b"\0" * PAGE)
        except OSError:
            filler.unlink(missing_ok=True)
            break
        fillers.append(filler)
    for filler in fillers[len(fillers) - pages_left :] if pages_left else []:
        filler.unlink()
    return fillers[: len(fillers) - pages_left]


def release(fillers: list[Path]) -> None:
    for filler in fillers:
        filler.unlink(missing_ok=True)
