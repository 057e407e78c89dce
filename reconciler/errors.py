"""Errors that reach a user. Imports nothing from the package."""

from __future__ import annotations

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
