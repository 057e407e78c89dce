"""reconcile apply: make reality match a saved plan (refused if stale) or a directory."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.app import app, err, err_console, out, text
from reconciler.cli.comment import Comment, commenting
from reconciler.cli.options import CommentFile, Parallelism, Targets, checked_targets, duration, seconds, state_dir
from reconciler.cli.planning import make_plan, policy_fails, read_saved_plan, run_context
from reconciler.errors import ReconcileError, StalePlan

if TYPE_CHECKING:
    from reconciler.apply.executor import ApplyResult
    from reconciler.kinds.base import RunContext
    from reconciler.plan.report import Outcome
    from reconciler.plan.schema import Plan
    from reconciler.planner import Planned
    from reconciler.progress import ProgressView


@app.command()
def apply(
    source: Annotated[
        Path | None,
        typer.Argument(
            metavar="[PLANFILE|DIR]",
            help="A saved plan, or the desired-state directory (default as for plan).",
            show_default=False,
        ),
    ] = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")] = False,
    target: Targets = None,
    parallelism: Parallelism = None,
    lock_timeout: Annotated[
        str, typer.Option("--lock-timeout", help="How long to wait for another apply's lock, e.g. 5m.")
    ] = "0s",
    request_quota: Annotated[
        bool, typer.Option("--request-quota", help="File a vCPU quota increase where a launch or start needs one.")
    ] = False,
    wait_for_quota: Annotated[
        str | None,
        typer.Option("--wait-for-quota", help="Request the quota increase and wait this long for it, e.g. 2h; then launch."),
    ] = None,
    comment_file: CommentFile = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            metavar="NAME",
            help="An application secret apply may read from its environment (repeatable; also $RECONCILE_SECRETS, "
            "comma-separated): a variable without a value in the saved plan gains one only as one of these.",
        ),
    ] = None,
) -> None:
    """Make reality match: apply a saved plan (refused if stale), or plan and apply a directory."""
    with commenting(comment_file, "apply") as note:
        _apply(source, auto_approve, target, parallelism, lock_timeout, request_quota, wait_for_quota, secret or [], note)


def _apply(
    source: Path | None,
    auto_approve: bool,
    target: list[str] | None,
    parallelism: int | None,
    lock_timeout: str,
    request_quota: bool,
    wait_for_quota: str | None,
    secret: list[str],
    note: Comment,
) -> None:
    from reconciler.apply.applied import RECORD
    from reconciler.apply.environment import application_secrets, for_apply
    from reconciler.apply.executor import check_still_true, forget_settled, record_failure, restrict
    from reconciler.apply.interrupt import SignalGuard
    from reconciler.apply.lock import backend_lock
    from reconciler.clients.records import RecordNotWritten
    from reconciler.gitinfo import saved_state_dir
    from reconciler.model.load import load_state
    from reconciler.progress import ProgressView
    from reconciler.render import comment as pr_comment
    from reconciler.render.text import render_outcomes, render_plan

    wait_for_lock = seconds("--lock-timeout", lock_timeout)
    quota_wait = duration("--wait-for-quota", wait_for_quota) if wait_for_quota is not None else None
    allowed = application_secrets(secret, os.environ)
    path = source or state_dir(None)
    saved = read_saved_plan(path) if path.is_file() else None
    if saved is not None:
        directory = saved_state_dir(saved.state.dir, saved.state.path)
        _refuse_if_changed(directory, saved, parallelism, note)  # before anything is contacted
        environ, withheld = for_apply(os.environ, saved, allowed)
        loaded = load_state(directory, environ, application_secrets=allowed, withheld=withheld)
    else:
        loaded = load_state(path, application_secrets=allowed)
    with (
        ProgressView(err_console.real()) as progress,
        SignalGuard(progress.say) as signals,
        signals.holding(backend_lock(loaded.state, loaded.directory, wait_for_lock, progress.say)),
        run_context(loaded, progress, parallelism) as context,
    ):
        context.request_quota, context.wait_for_quota = request_quota, quota_wait
        planned = make_plan(loaded, context, checked_targets(target))
        if saved is not None:
            try:
                check_still_true(saved, planned.plan)
            except StalePlan as stale:
                note.body = pr_comment.stale(str(stale), planned.plan)
                raise
            planned = restrict(planned, saved)
        progress.pause()
        out.print(render_plan(planned.plan))
        if policy_fails(planned.plan, loaded):
            raise ReconcileError("refusing to apply: the plan has error findings and settings.policy_mode is enforce")
        if not planned.plan.has_changes:
            signals.graceful(context)  # its records are written whole, whatever signal comes
            forget_settled(planned, context)
            _record_applied(context, planned, target)
            note.body = pr_comment.apply_report([], planned.plan)
            return
        if saved is None and not auto_approve:
            if not sys.stdin.isatty():
                raise ReconcileError("not on a terminal: apply of a directory needs --auto-approve (or apply a saved plan)")
            if not typer.confirm("Apply these changes?"):
                raise typer.Abort()
        progress.resume()
        signals.graceful(context)  # from here a signal starts nothing new and lets the running steps end
        result = _walk(planned, context, progress)
        if result.ok:
            try:
                _record_applied(context, planned, target)
            except (OSError, RecordNotWritten) as error:  # the report of what was done still stands
                result.notes.append(f"could not record the applied commit in {record_failure(context.record(RECORD), error)}")
            except ReconcileError as error:
                result.notes.append(f"could not record the applied commit: {error}")
    out.print(render_outcomes(result.outcomes))
    for said in result.notes:
        err.print(text(f"error: {said}", style="red"))
    if context.stopping.is_set() and not result.ok:
        err.print(text(f"apply interrupted by {context.stopped_by}: `reconcile plan` shows what is left", style="yellow"))
    note.body = pr_comment.apply_report(result.outcomes, planned.plan)
    if not result.ok:
        raise typer.Exit(1)


def _walk(planned: Planned, context: RunContext, progress: ProgressView) -> ApplyResult:
    from reconciler.apply.executor import apply_planned

    def on_end(outcome: Outcome) -> None:
        progress.finished(outcome.address, f"{outcome.status}: {outcome.message}")

    return apply_planned(planned, context, lambda address: progress(address, "starting"), on_end)


def _refuse_if_changed(directory: Path, saved: Plan, parallelism: int | None, note: Comment) -> None:
    """A saved plan whose desired state changed is stale: found from the files and the variables the
    plan read, before a host, the lock or AWS is contacted. The comment then shows a fresh plan made
    with the environment the plan had (no application secret, no value the plan did not have)."""
    from reconciler.apply.environment import as_planned
    from reconciler.model.load import load_state
    from reconciler.plan.digest import state_digest
    from reconciler.progress import ProgressView
    from reconciler.render import comment as pr_comment

    view = load_state(directory, as_planned(os.environ, saved), mode="plan")
    if state_digest(view.directory, view.paths, view.variables) == saved.state.digest:
        return
    stale = StalePlan("stale plan: the desired state changed since the plan was made; make a new plan")
    if note.wanted:
        with ProgressView(err_console.real()) as progress, run_context(view, progress, parallelism) as context:
            fresh = make_plan(view, context)
        note.body = pr_comment.stale(str(stale), fresh.plan)
    raise stale


def _record_applied(context: RunContext, planned: Planned, targets: list[str] | None) -> None:
    """The commit now applied in full (not with --target), for `watch --apply`."""
    from reconciler.apply.applied import RECORD, record_applied

    if not targets:
        record_applied(context.record(RECORD), planned.plan.state.git, datetime.now(UTC))
