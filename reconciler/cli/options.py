"""The options and arguments more than one command takes, and how their values are read once."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.errors import ReconcileError

if TYPE_CHECKING:
    from datetime import timedelta

StateDir = Annotated[
    Path | None,
    typer.Argument(
        metavar="[DIR]",
        help="The desired-state directory (default: $RECONCILE_STATE_DIR, else desired_state).",
        show_default=False,
    ),
]
Targets = Annotated[list[str] | None, typer.Option("--target", help="Only this address and what it depends on (repeatable).")]
Parallelism = Annotated[
    int | None, typer.Option("--parallelism", min=1, help="Independent steps at once (default: settings.parallelism).")
]
CommentFile = Annotated[
    Path | None,
    typer.Option("--comment", help="Write the pull-request comment (markdown) here, whatever the outcome, failures too."),
]


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def state_dir(directory: Path | None) -> Path:
    return directory or Path(os.environ.get("RECONCILE_STATE_DIR") or "desired_state")


def checked_targets(targets: list[str] | None) -> list[str]:
    from reconciler.units import Address

    for target in targets or []:
        try:
            Address.parse(target)
        except ValueError as error:
            raise ReconcileError(str(error)) from None
    return list(targets or [])


def seconds(option: str, value: str) -> float:
    """A duration option's value (5m, 30s, 2h) in seconds; a bad one is an error naming the option."""
    return duration(option, value).total_seconds()


def duration(option: str, value: str) -> timedelta:
    from reconciler.units import parse_duration

    try:
        return parse_duration(value)
    except ValueError as error:
        raise ReconcileError(f"{option}: {error}") from None
