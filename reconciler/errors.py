"""Errors that reach a user. Imports nothing from the package."""

from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One located problem in the desired state; printed as ``FILE:LINE:COL: message``."""

    file: str
    line: int  # 1-based
    col: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class ReconcileError(Exception):
    """An error meant for the user: its message is printed as is, and the command exits 1."""


class ConfigError(ReconcileError):
    """The desired state is invalid; carries every problem found, sorted by place."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics))
        count = len(self.diagnostics)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the desired state")


class StalePlan(ReconcileError):
    """The saved plan no longer describes reality or the desired state; nothing was changed."""


class LockHeld(ReconcileError):
    """Another apply holds the state's lock."""


class StepNotStarted(ReconcileError):
    """A step that stopped before it changed anything, because the apply is stopping (a signal)."""


def explain_os_error(error: OSError) -> str:
    """An OSError as a user reads it: the file and the cause (`No space left on device`)."""
    cause = error.strerror or str(error) or type(error).__name__
    if error.filename is None:
        return cause
    target = f"{error.filename} → {error.filename2}" if error.filename2 is not None else str(error.filename)
    return f"{target}: {cause}"


class Interrupted(BaseException):  # like KeyboardInterrupt: no `except Exception` may swallow it
    """A signal (SIGTERM, SIGINT) ended the command before it changed anything (apply/interrupt.py)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        return 128 + int(signal.Signals[self.signal_name])
