"""A failure → what a user is told and the exit code: decided once, for the terminal (main.py) and
for the pull-request comment (comment.py)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.cli.app import err, text
from reconciler.errors import ConfigError, Interrupted, ReconcileError, explain_os_error


@dataclass(frozen=True)
class Failure:
    said: str  # one line, for the terminal and the comment alike
    style: str
    exit_code: int
    traceback: bool = False  # --debug shows it
    bug: bool = False


def failure(error: BaseException) -> Failure:
    """What went wrong, in words; anything not foreseen is a bug in reconcile, never shown raw."""
    if isinstance(error, ReconcileError):
        return Failure(f"error: {error}", "red", 1)
    if isinstance(error, Interrupted):
        return Failure(f"interrupted by {error.signal_name}: nothing was changed", "yellow", error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        return Failure("interrupted", "", 130)
    if isinstance(error, OSError):  # a file (a full disk, no permission) or a connection the command could not go on without
        return Failure(f"error: {explain_os_error(error)}", "red", 1, traceback=True)
    return Failure(f"internal error ({type(error).__name__}); this is a bug in reconcile", "red", 1, traceback=True, bug=True)


def print_config_error(error: ConfigError) -> None:
    for diagnostic in error.diagnostics:
        place = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}:"
        err.print(text((place, "bold"), " ", (diagnostic.message, "red")))
    err.print(text(str(error), style="bold red"))
