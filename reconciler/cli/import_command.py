"""reconcile import: desired-state YAML for what runs unmanaged, so that the next apply adopts it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reconciler.cli.app import app, err, text
from reconciler.cli.options import StateDir, state_dir


@app.command("import")
def import_command(
    directory: StateDir = None,
    host: Annotated[str | None, typer.Option("--host", help="Only this host of the state (default: every host).")] = None,
    aws: Annotated[
        bool, typer.Option("--aws", help="Also S3 buckets and EC2 instances without our reconciler:address tag.")
    ] = False,
) -> None:
    """Print desired-state YAML for existing unmanaged containers, so that the next apply adopts them
    without replacing anything. Environment values are printed as ${VAR} placeholders, never as values."""
    from reconciler.imports import import_yaml
    from reconciler.model.load import load_state
    from reconciler.model.spec import State

    states = state_dir(directory)
    state = load_state(states, mode="plan").state if states.is_dir() else State()
    sys.stdout.write(import_yaml(state, states, host, aws, lambda said: err.print(text(said, style="yellow"))))
