"""reconcile plan: what would change. Read-only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import app, err, err_console, out, text
from reconciler.cli.comment import Comment, commenting
from reconciler.cli.options import CommentFile, Format, Parallelism, StateDir, Targets, checked_targets, state_dir
from reconciler.cli.planning import make_plan, plan_json, policy_fails, run_context, say_known_at_apply


@app.command()
def plan(
    directory: StateDir = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Save the plan (JSON) for `reconcile apply PLANFILE`.")] = None,
    output: Annotated[
        Format, typer.Option("--format", help="text, json, or markdown (for a pull-request comment).")
    ] = Format.text,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes or blocked actions.")
    ] = False,
    target: Targets = None,
    parallelism: Parallelism = None,
    comment_file: CommentFile = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base",
            help="The base branch's state directory, for a pull request's: records come from its backend, and a "
            "different settings.backend is a change of trust (default for an unpacked pull request: the same path "
            "in the current checkout).",
        ),
    ] = None,
) -> None:
    """Show what would change. Read-only: nothing is created, changed, deleted or pulled."""
    with commenting(comment_file, "plan") as note:
        _plan(directory, out_file, output, detailed_exitcode, target, parallelism, base, note)


def _plan(
    directory: Path | None,
    out_file: Path | None,
    output: Format,
    detailed_exitcode: bool,
    target: list[str] | None,
    parallelism: int | None,
    base_dir: Path | None,
    note: Comment,
) -> None:
    from reconciler.apply.interrupt import SignalGuard
    from reconciler.model.load import load_state
    from reconciler.pr_base import base_of, records_of, trust_finding
    from reconciler.progress import ProgressView
    from reconciler.render.markdown import render_markdown
    from reconciler.render.text import render_plan

    loaded = load_state(state_dir(directory), mode="plan")
    say_known_at_apply(loaded)
    base = base_of(loaded, base_dir)
    with (
        ProgressView(err_console.real()) as progress,
        SignalGuard(progress.say),
        run_context(loaded, progress, parallelism) as context,
    ):
        if base is not None:
            context.backend = records_of(base)
        planned = make_plan(loaded, context, checked_targets(target))
    if base is not None and (finding := trust_finding(loaded, base)) is not None:
        planned.plan = planned.plan.model_copy(update={"findings": [finding, *planned.plan.findings]})
    if output is Format.json:
        sys.stdout.write(plan_json(planned.plan))
    elif output is Format.markdown:
        note.body = render_markdown(planned.plan)
        sys.stdout.write(note.body)
    else:
        out.print(render_plan(planned.plan))
    if note.wanted and note.body is None:
        note.body = render_markdown(planned.plan)
    if out_file is not None:
        out_file.write_text(plan_json(planned.plan))
        err.print(f"Saved the plan to {out_file}; apply it with: reconcile apply {out_file}")
    if policy_fails(planned.plan, loaded):
        err.print(text(f"{len(planned.plan.errors())} error finding(s) and settings.policy_mode is enforce", style="bold red"))
        raise typer.Exit(1)
    if detailed_exitcode and planned.plan.has_changes:
        raise typer.Exit(2)
