"""reconcile force-unlock: remove a dead holder's lock."""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.cli.app import app, out, text
from reconciler.cli.options import StateDir, state_dir


@app.command("force-unlock")
def force_unlock_command(
    lock_id: Annotated[str, typer.Argument(metavar="LOCK_ID", help="The lock id a waiting or failed apply named.")],
    directory: StateDir = None,
) -> None:
    """Remove a dead holder's lock (the file lock, or the S3 lock settings.lock names), only if it has LOCK_ID."""
    from reconciler.apply.lock import backend_force_unlock
    from reconciler.model.load import load_state

    loaded = load_state(state_dir(directory), mode="plan")  # no application secret needed
    said = backend_force_unlock(loaded.state, loaded.directory, lock_id)
    out.print(text(said, style="green"))
