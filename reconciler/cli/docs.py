"""reconcile docs: regenerate the cost docs, or check that they are current."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reconciler.cli.app import app, err, err_console, out, plural, text
from reconciler.cli.options import StateDir, state_dir
from reconciler.cli.planning import run_context


@app.command()
def docs(
    directory: StateDir = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 with a diff when a doc is stale.")] = False,
) -> None:
    """Regenerate the cost docs from the desired state and the markets that really run."""
    from reconciler.kinds.cost_doc.kind import CostDocKind
    from reconciler.model.load import load_state
    from reconciler.planner import observe_for_costs
    from reconciler.progress import ProgressView

    loaded = load_state(state_dir(directory), mode="plan")  # costs need no application secret
    with ProgressView(err_console.real()) as progress, run_context(loaded, progress, None) as context:
        observe_for_costs(loaded, context)
        kind = CostDocKind(context)
        stale = [doc for doc in kind.rendered() if doc.stale]
    if check:
        for doc in stale:
            sys.stdout.write(doc.diff())
        if stale:
            err.print(text(f"{plural(len(stale), 'cost doc')} stale: run `reconcile docs` and commit the result", style="red"))
            raise typer.Exit(1)
    else:
        for doc in stale:
            kind.write(doc)
            out.print(f"wrote {doc.path}")
    if not stale:
        out.print(text(f"cost docs are current ({plural(len(loaded.state.cost_docs), 'doc')})", style="green"))
