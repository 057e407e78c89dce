"""An unpacked pull request's tree is data: `reconcile unpack-pr` leaves MARKER at its root (a name
the tree itself may not hold, as it refuses every `.reconcile.*` file), and whatever reads a state
asks `unpacked_root` before it runs git on it or reads a record beside it."""

from __future__ import annotations

from pathlib import Path

MARKER = ".reconcile.pull-request"  # written by unpack-pr only: the tree may hold no .reconcile.* file
RECORD_PREFIX = ".reconcile."
GIT_DIR = ".git"


def unpacked_root(directory: Path) -> Path | None:
    """The root of the unpacked pull request that holds ``directory`` (it or a parent carries the
    marker), else None."""
    resolved = directory.resolve()
    return next((candidate for candidate in (resolved, *resolved.parents) if (candidate / MARKER).is_file()), None)


def forbidden_part(parts: tuple[str, ...]) -> str | None:
    """Why a path of the pull request's tree is refused: git metadata (it would run code in the plan
    job) or one of reconcile's own records (it would be read as the state's history)."""
    for part in parts:
        if part.lower() == GIT_DIR:
            return f"{GIT_DIR} is git metadata (its config can run commands); a pull request's tree holds none"
        if part.startswith(RECORD_PREFIX):
            return f"{part} is one of reconcile's own records; they live in the backend, never in a pull request"
    return None
