"""reconcile daemon: the resident process (reconciler/resident/), in the foreground."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reconciler.cli.app import app
from reconciler.cli.options import seconds


@app.command()
def daemon(
    idle_timeout: Annotated[
        str, typer.Option("--idle-timeout", help="Stop after this long without a command, e.g. 1h or 30m (0: never).")
    ] = "1h",
) -> None:
    """Keep reconcile loaded, so that each `reconcile` command of yours starts at once. Runs in the
    foreground until SIGTERM, Ctrl-C or the idle timeout; `reconcile` finds it by itself."""
    from reconciler.resident.daemon import run

    idle = seconds("--idle-timeout", idle_timeout) if idle_timeout.strip() not in ("0", "") else 0.0

    def say(message: str) -> None:  # never rich's console: it would be made for the daemon's terminal
        sys.stderr.write(f"reconcile daemon: {message}\n")
        sys.stderr.flush()

    say(f"stopped: {run(idle, say)}")
