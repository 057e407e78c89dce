"""reconcile validate: load and check a desired-state directory, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.cli.app import app, err, out, plural, text
from reconciler.cli.options import StateDir, state_dir

if TYPE_CHECKING:
    from reconciler.model.load import LoadedState


@app.command()
def validate(directory: StateDir = None) -> None:
    """Load and check the desired-state directory; print every problem with its place."""
    from reconciler.model.load import load_state

    loaded = load_state(state_dir(directory), mode="validate")
    _print_warnings(loaded)
    out.print(text(_summary(loaded), style="green"))


def _summary(loaded: LoadedState) -> str:
    state = loaded.state
    parts = [
        plural(len(state.hosts), "host"),
        plural(len(state.containers), "container"),
        plural(len(state.disk_budgets), "disk budget"),
        plural(len(state.ec2_instances), "EC2 instance"),
        plural(len(state.s3_buckets), "S3 bucket"),
        plural(len(state.cost_docs), "cost doc"),
    ]
    return f"{loaded.directory}: valid ({plural(len(loaded.files), 'file')}): {', '.join(parts)}"


def _print_warnings(loaded: LoadedState) -> None:
    for warning in loaded.warnings:
        err.print(text(str(warning), style="yellow"))
