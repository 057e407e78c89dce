"""The command line: arguments → calls → output → exit code. The only module that prints or exits."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler import __version__
from reconciler.clients.ssh_on_demand import defer_paramiko
from reconciler.errors import ConfigError, Interrupted, ReconcileError, StalePlan, explain_os_error

if TYPE_CHECKING:  # each command imports what it uses when it runs: `--version` and `validate` stay light
    from rich.console import Console
    from rich.text import Text

    from reconciler.apply.executor import ApplyResult
    from reconciler.kinds.base import RunContext
    from reconciler.model.load import LoadedState
    from reconciler.plan.report import Outcome
    from reconciler.plan.schema import Plan
    from reconciler.planner import Planned
    from reconciler.progress import ProgressView

defer_paramiko()  # the docker SDK, whichever command first imports it, comes without paramiko: only ssh:// hosts load it


class _LazyConsole:
    """A rich Console made on first use: importing rich costs more than `reconcile --version` may."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr
        self.console: Console | None = None

    def real(self) -> Console:
        """The Console itself, for what calls its special methods (rich's Live enters it), which
        __getattr__ cannot stand in for."""
        if self.console is None:
            from rich.console import Console

            self.console = Console(stderr=self.stderr, highlight=False, soft_wrap=True)
        return self.console

    def __getattr__(self, name: str) -> object:
        return getattr(self.real(), name)


def _text(*parts: str | tuple[str, str], style: str = "") -> Text:
    from rich.text import Text

    return Text.assemble(*parts, style=style)


app = typer.Typer(
    name="reconcile",
    help="GitOps for Docker containers, disk budgets, EC2 instances, S3 buckets and cost docs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out: Console = _LazyConsole(stderr=False)  # type: ignore[assignment]
_err = _LazyConsole(stderr=True)
err: Console = _err  # type: ignore[assignment]

StateDir = Annotated[
    Path | None,
    typer.Argument(
        metavar="[DIR]",
        help="The desired-state directory (default: $RECONCILE_STATE_DIR, else desired_state).",
        show_default=False,
    ),
]


def _state_dir(directory: Path | None) -> Path:
    return directory or Path(os.environ.get("RECONCILE_STATE_DIR") or "desired_state")


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"reconcile {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """GitOps for Docker containers, disk budgets, EC2 instances, S3 buckets and cost docs."""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(loaded: LoadedState) -> str:
    state = loaded.state
    parts = [
        _plural(len(state.hosts), "host"),
        _plural(len(state.containers), "container"),
        _plural(len(state.disk_budgets), "disk budget"),
        _plural(len(state.ec2_instances), "EC2 instance"),
        _plural(len(state.s3_buckets), "S3 bucket"),
        _plural(len(state.cost_docs), "cost doc"),
    ]
    return f"{loaded.directory}: valid ({_plural(len(loaded.files), 'file')}): {', '.join(parts)}"


def _print_warnings(loaded: LoadedState) -> None:
    for warning in loaded.warnings:
        err.print(_text(str(warning), style="yellow"))


def _say_known_at_apply(loaded: LoadedState) -> None:
    if loaded.unknown:
        names = ", ".join(loaded.unknown)
        err.print(
            _text(f"not set: {names}; what uses {'it' if len(loaded.unknown) == 1 else 'them'} is known at apply", style="yellow")
        )


@app.command()
def validate(directory: StateDir = None) -> None:
    """Load and check the desired-state directory; print every problem with its place."""
    from reconciler.model.load import load_state

    loaded = load_state(_state_dir(directory), mode="validate")
    _print_warnings(loaded)
    out.print(_text(_summary(loaded), style="green"))


@app.command()
def schema() -> None:
    """Print the JSON Schema (2020-12) of the desired-state format, for editors."""
    from reconciler.model.spec import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


Targets = Annotated[list[str] | None, typer.Option("--target", help="Only this address and what it depends on (repeatable).")]
Parallelism = Annotated[
    int | None, typer.Option("--parallelism", min=1, help="Independent steps at once (default: settings.parallelism).")
]


def _context(loaded: LoadedState, progress: ProgressView, parallelism: int | None) -> RunContext:
    from reconciler.kinds.base import RunContext

    return RunContext(
        state=loaded.state,
        state_dir=loaded.directory,
        now=datetime.now(UTC),
        progress=progress,
        parallelism=parallelism or loaded.state.settings.parallelism,
        values_wait_for_apply=bool(loaded.unknown),
    )


def _warn(message: str) -> None:
    err.print(_text(f"warning: {message}", style="yellow"))


def _checked_targets(targets: list[str] | None) -> list[str]:
    from reconciler.units import Address

    for target in targets or []:
        try:
            Address.parse(target)
        except ValueError as error:
            raise ReconcileError(str(error)) from None
    return list(targets or [])


def _policy_fails(plan: Plan, loaded: LoadedState) -> bool:
    return bool(plan.errors()) and loaded.state.settings.policy_mode == "enforce"


CommentFile = Annotated[
    Path | None,
    typer.Option("--comment", help="Write the pull-request comment (markdown) here, whatever the outcome, failures too."),
]


class _Comment:
    """--comment FILE: the body a command sets on success, else one said by how it failed."""

    def __init__(self, wanted: bool) -> None:
        self.wanted = wanted
        self.body: str | None = None


@contextmanager
def _commenting(path: Path | None, stage: str) -> Iterator[_Comment]:
    note = _Comment(wanted=path is not None)
    try:
        yield note
    except (typer.Exit, typer.Abort):
        raise
    except BaseException as error:
        if note.wanted and note.body is None:
            note.body = _failure_comment(stage, error)
        raise
    finally:
        if path is not None and note.body is not None:
            path.write_text(note.body, encoding="utf-8")


def _failure_comment(stage: str, error: BaseException) -> str:
    from reconciler.render import comment as pr_comment

    if isinstance(error, ConfigError):
        return pr_comment.validation_failed(error.diagnostics, str(error))
    if isinstance(error, ReconcileError):
        return pr_comment.failed(stage, f"error: {error}")
    if isinstance(error, Interrupted):
        return pr_comment.failed(stage, f"interrupted by {error.signal_name}: nothing was changed")
    if isinstance(error, OSError):
        return pr_comment.failed(stage, f"error: {explain_os_error(error)}")
    bug = f"internal error ({type(error).__name__}); this is a bug in reconcile"
    return pr_comment.failed(stage, "interrupted" if isinstance(error, KeyboardInterrupt) else bug)


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
    with _commenting(comment_file, "plan") as note:
        _plan(directory, out_file, output, detailed_exitcode, target, parallelism, base, note)


def _plan(
    directory: Path | None,
    out_file: Path | None,
    output: Format,
    detailed_exitcode: bool,
    target: list[str] | None,
    parallelism: int | None,
    base_dir: Path | None,
    note: _Comment,
) -> None:
    from reconciler.apply.interrupt import SignalGuard
    from reconciler.gitinfo import git_info
    from reconciler.model.load import load_state
    from reconciler.planner import make_plan
    from reconciler.pr_base import base_of, records_of, trust_finding
    from reconciler.progress import ProgressView
    from reconciler.render.markdown import render_markdown
    from reconciler.render.text import render_plan

    loaded = load_state(_state_dir(directory), mode="plan")
    _say_known_at_apply(loaded)
    base = base_of(loaded, base_dir)
    with ProgressView(_err.real()) as progress, SignalGuard(progress.say):
        context = _context(loaded, progress, parallelism)
        if base is not None:
            context.backend = records_of(base)
        try:
            planned = make_plan(loaded, context, _checked_targets(target), git=git_info(loaded.directory, _warn))
        finally:
            context.close()
    if base is not None and (finding := trust_finding(loaded, base)) is not None:
        planned.plan = planned.plan.model_copy(update={"findings": [finding, *planned.plan.findings]})
    if output is Format.json:
        sys.stdout.write(planned.plan.model_dump_json(indent=2) + "\n")
    elif output is Format.markdown:
        note.body = render_markdown(planned.plan)
        sys.stdout.write(note.body)
    else:
        out.print(render_plan(planned.plan))
    if note.wanted and note.body is None:
        note.body = render_markdown(planned.plan)
    if out_file is not None:
        out_file.write_text(planned.plan.model_dump_json(indent=2) + "\n")
        err.print(f"Saved the plan to {out_file}; apply it with: reconcile apply {out_file}")
    if _policy_fails(planned.plan, loaded):
        err.print(_text(f"{len(planned.plan.errors())} error finding(s) and settings.policy_mode is enforce", style="bold red"))
        raise typer.Exit(1)
    if detailed_exitcode and planned.plan.has_changes:
        raise typer.Exit(2)


def _read_saved_plan(path: Path) -> Plan:
    from reconciler.plan.schema import Plan

    try:
        return Plan.model_validate_json(path.read_bytes())
    except ValueError:
        raise ReconcileError(f"{path}: not a plan file made by `reconcile plan --out`") from None


def _walk(planned: Planned, context: RunContext, progress: ProgressView) -> ApplyResult:
    from reconciler.apply.executor import apply_planned

    def on_end(outcome: Outcome) -> None:
        progress.finished(outcome.address, f"{outcome.status}: {outcome.message}")

    return apply_planned(planned, context, lambda address: progress(address, "starting"), on_end)


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
    with _commenting(comment_file, "apply") as note:
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
    note: _Comment,
) -> None:
    from reconciler.apply.applied import RECORD
    from reconciler.apply.environment import application_secrets, for_apply
    from reconciler.apply.executor import check_still_true, forget_settled, record_failure, restrict
    from reconciler.apply.interrupt import SignalGuard
    from reconciler.apply.lock import backend_lock
    from reconciler.clients.records import RecordNotWritten
    from reconciler.gitinfo import git_info, saved_state_dir
    from reconciler.model.load import load_state
    from reconciler.planner import make_plan
    from reconciler.progress import ProgressView
    from reconciler.render import comment as pr_comment
    from reconciler.render.text import render_outcomes, render_plan
    from reconciler.units import parse_duration

    try:
        wait_for_lock = parse_duration(lock_timeout).total_seconds()
    except ValueError as error:
        raise ReconcileError(f"--lock-timeout: {error}") from None
    try:
        quota_wait = parse_duration(wait_for_quota) if wait_for_quota is not None else None
    except ValueError as error:
        raise ReconcileError(f"--wait-for-quota: {error}") from None
    allowed = application_secrets(secret, os.environ)
    path = source or _state_dir(None)
    saved = _read_saved_plan(path) if path.is_file() else None
    if saved is not None:
        directory = saved_state_dir(saved.state.dir, saved.state.path)
        _refuse_if_changed(directory, saved, parallelism, note)  # before anything is contacted
        environ, withheld = for_apply(os.environ, saved, allowed)
        loaded = load_state(directory, environ, application_secrets=allowed, withheld=withheld)
    else:
        loaded = load_state(path, application_secrets=allowed)
    with (
        ProgressView(_err.real()) as progress,
        SignalGuard(progress.say) as signals,
        signals.holding(backend_lock(loaded.state, loaded.directory, wait_for_lock, progress.say)),
    ):
        context = _context(loaded, progress, parallelism)
        context.request_quota, context.wait_for_quota = request_quota, quota_wait
        try:
            planned = make_plan(loaded, context, _checked_targets(target), git=git_info(loaded.directory, _warn))
            if saved is not None:
                try:
                    check_still_true(saved, planned.plan)
                except StalePlan as stale:
                    note.body = pr_comment.stale(str(stale), planned.plan)
                    raise
                planned = restrict(planned, saved)
            progress.pause()
            out.print(render_plan(planned.plan))
            if _policy_fails(planned.plan, loaded):
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
        finally:
            context.close()
    out.print(render_outcomes(result.outcomes))
    for said in result.notes:
        err.print(_text(f"error: {said}", style="red"))
    if context.stopping.is_set() and not result.ok:
        err.print(_text(f"apply interrupted by {context.stopped_by}: `reconcile plan` shows what is left", style="yellow"))
    note.body = pr_comment.apply_report(result.outcomes, planned.plan)
    if not result.ok:
        raise typer.Exit(1)


def _refuse_if_changed(directory: Path, saved: Plan, parallelism: int | None, note: _Comment) -> None:
    """A saved plan whose desired state changed is stale: found from the files and the variables the
    plan read, before a host, the lock or AWS is contacted. The comment then shows a fresh plan made
    with the environment the plan had (no application secret, no value the plan did not have)."""
    from reconciler.apply.environment import as_planned
    from reconciler.gitinfo import git_info
    from reconciler.model.load import load_state
    from reconciler.plan.digest import state_digest
    from reconciler.planner import make_plan
    from reconciler.progress import ProgressView
    from reconciler.render import comment as pr_comment

    view = load_state(directory, as_planned(os.environ, saved), mode="plan")
    if state_digest(view.directory, view.paths, view.variables) == saved.state.digest:
        return
    stale = StalePlan("stale plan: the desired state changed since the plan was made; make a new plan")
    if note.wanted:
        with ProgressView(_err.real()) as progress:
            context = _context(view, progress, parallelism)
            try:
                fresh = make_plan(view, context, git=git_info(view.directory, _warn))
            finally:
                context.close()
        note.body = pr_comment.stale(str(stale), fresh.plan)
    raise stale


def _record_applied(context: RunContext, planned: Planned, targets: list[str] | None) -> None:
    """The commit now applied in full (not with --target), for `watch --apply`."""
    from reconciler.apply.applied import RECORD, record_applied

    if not targets:
        record_applied(context.record(RECORD), planned.plan.state.git, datetime.now(UTC))


@app.command("force-unlock")
def force_unlock_command(
    lock_id: Annotated[str, typer.Argument(metavar="LOCK_ID", help="The lock id a waiting or failed apply named.")],
    directory: StateDir = None,
) -> None:
    """Remove a dead holder's lock (the file lock, or the S3 lock settings.lock names), only if it has LOCK_ID."""
    from reconciler.apply.lock import backend_force_unlock
    from reconciler.model.load import load_state

    loaded = load_state(_state_dir(directory), mode="plan")  # no application secret needed
    said = backend_force_unlock(loaded.state, loaded.directory, lock_id)
    out.print(_text(said, style="green"))


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

    loaded = load_state(_state_dir(directory), mode="plan")  # costs need no application secret
    with ProgressView(_err.real()) as progress:
        context = _context(loaded, progress, None)
        try:
            observe_for_costs(loaded, context)
            kind = CostDocKind(context)
            stale = [doc for doc in kind.rendered() if doc.stale]
        finally:
            context.close()
    if check:
        for doc in stale:
            sys.stdout.write(doc.diff())
        if stale:
            err.print(_text(f"{_plural(len(stale), 'cost doc')} stale: run `reconcile docs` and commit the result", style="red"))
            raise typer.Exit(1)
        out.print(_text(f"cost docs are current ({_plural(len(loaded.state.cost_docs), 'doc')})", style="green"))
        return
    for doc in stale:
        kind.write(doc)
        out.print(f"wrote {doc.path}")
    if not stale:
        out.print(_text(f"cost docs are current ({_plural(len(loaded.state.cost_docs), 'doc')})", style="green"))


@app.command()
def prices(
    refresh: Annotated[bool, typer.Option("--refresh", help="Rebuild the catalog from the AWS Price List API.")] = False,
    region: Annotated[list[str] | None, typer.Option("--region", help="Refresh this region (repeatable; default: all).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the catalog here, not over the shipped one.")] = None,
) -> None:
    """Show the price catalog's date and source; with --refresh, rebuild it from AWS."""
    from reconciler.clients.aws import BotoCoreError, ClientError, connect, explain
    from reconciler.costs.catalog import shipped_catalog, shipped_catalog_path
    from reconciler.costs.refresh import PRICING_REGION, refreshed_catalog

    catalog = shipped_catalog()
    if refresh:
        regions = region or sorted(catalog.ec2)
        try:
            pricing = connect("pricing", PRICING_REGION)
            catalog = refreshed_catalog(pricing, lambda name: connect("ec2", name), regions, catalog, datetime.now(UTC))
        except (ClientError, BotoCoreError) as error:
            raise ReconcileError(f"prices --refresh: {explain(error)}") from None
        destination = out_file or shipped_catalog_path()
        destination.write_text(catalog.to_json(), encoding="utf-8")
        out.print(f"wrote {destination}")
    types = sum(len(kinds) for kinds in catalog.ec2.values())
    out.print(f"prices as of {catalog.date}: {types} EC2 prices in {_plural(len(catalog.ec2), 'region')}; {catalog.source}")


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

    state_dir = _state_dir(directory)
    state = load_state(state_dir, mode="plan").state if state_dir.is_dir() else State()
    sys.stdout.write(import_yaml(state, state_dir, host, aws, lambda said: err.print(_text(said, style="yellow"))))


@app.command()
def watch(
    directory: StateDir = None,
    interval: Annotated[str, typer.Option("--interval", help="How often to plan, e.g. 5m or 30s.")] = "5m",
    apply_drift: Annotated[
        bool, typer.Option("--apply", help="Heal drift (only at the git commit last applied); default: report only.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus metrics on 127.0.0.1:N (0: any free port)."),
    ] = None,
    parallelism: Parallelism = None,
) -> None:
    """Plan in a loop and report drift; with --apply, heal it. Runs until SIGTERM or Ctrl-C, which
    let the current step finish, release the lock and exit 0."""
    from reconciler.model.load import load_state
    from reconciler.units import parse_duration
    from reconciler.watch import Watcher, WatchMetrics, WatchOptions

    gc.enable()  # a process that runs for days collects its cycles

    try:
        seconds = parse_duration(interval).total_seconds()
    except ValueError as error:
        raise ReconcileError(f"--interval: {error}") from None
    if seconds <= 0:
        raise ReconcileError("--interval: must be more than 0s")
    state_dir = _state_dir(directory)
    load_state(state_dir, mode="apply" if apply_drift else "plan")  # an invalid state at start is an error, not a failed round
    metrics = WatchMetrics()
    watcher = Watcher(WatchOptions(state_dir, seconds, apply_drift, parallelism), lambda line: out.print(_text(line)), metrics)

    def stop(_signal: int, _frame: object) -> None:
        watcher.stop()
        err.print(_text("stopping: finishing the current step", style="yellow"))

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if metrics_port is not None:
            try:
                port = metrics.serve(metrics_port)
            except OSError as error:
                raise ReconcileError(f"--metrics-port {metrics_port}: cannot listen on 127.0.0.1: {error.strerror}") from None
            err.print(f"serving metrics on http://127.0.0.1:{port}/metrics")
        mode = "heals drift at the commit last applied" if apply_drift else "reports drift only (--apply heals it)"
        err.print(f"watching {state_dir} every {interval}: {mode}")
        watcher.run()
    finally:
        metrics.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err.print("stopped")


@app.command("unpack-pr", hidden=True)
def unpack_pr(
    archive: Annotated[Path, typer.Argument(help="The pull request's artifact (zip), as GitHub serves it.")],
    destination: Annotated[Path, typer.Argument(help="Where to unpack its tree (must not exist).")],
    comment_file: CommentFile = None,
) -> None:
    """CI: unpack the untrusted artifact of the pull request's unprivileged job, as data only. Prints
    `number=N` and `head_sha=SHA` (for $GITHUB_OUTPUT) as soon as they are read, so that a refused
    tree can still be reported on the pull request once the workflow has checked them."""
    from reconciler.pr_state import read_claims, unpack_tree

    claims = read_claims(archive)
    sys.stdout.write(f"number={claims.number}\nhead_sha={claims.head_sha}\n")
    sys.stdout.flush()
    with _commenting(comment_file, "plan"):
        unpack_tree(claims, destination)


def _print_config_error(error: ConfigError) -> None:
    for diagnostic in error.diagnostics:
        place = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}:"
        err.print(_text((place, "bold"), " ", (diagnostic.message, "red")))
    err.print(_text(str(error), style="bold red"))


def main() -> None:
    """The console script: runs the app and turns every failure into a message and an exit code;
    no traceback reaches a user unless they ask with --debug."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # no scan of every installed package's entry points
    with _short_lived_process():
        _main()


@contextmanager
def _short_lived_process() -> Iterator[None]:
    """A command ends soon, and reference counting frees what it makes: the cyclic collector would
    only walk the same objects again and again (~0.05 s of a no-op plan), and once more, every one
    of them, at interpreter shutdown (~0.1 s). So it is off while the command runs (`watch`, which
    runs for days, turns it back on), and what is alive at the end is frozen out of its sight
    (still freed when no longer referenced). A test that calls main() gets its collector back."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _main() -> None:
    debug = "--debug" in sys.argv  # before or after the command: `reconcile apply --debug` too
    if debug:
        import logging

        logging.basicConfig(format="%(message)s")
        logging.getLogger("reconciler").setLevel(logging.DEBUG)
    try:
        code = app(args=[arg for arg in sys.argv[1:] if arg != "--debug"], standalone_mode=False)
    except typer.TyperException as usage:  # bad arguments or options
        err.print(_text(f"error: {usage.format_message()} (see reconcile --help)", style="red"))
        sys.exit(1)  # never 2: with --detailed-exitcode, 2 means "changes"
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except ConfigError as error:
        _print_config_error(error)
        sys.exit(1)
    except ReconcileError as error:
        err.print(_text(f"error: {error}", style="red"))
        sys.exit(1)
    except Interrupted as interrupted:
        err.print(_text(f"interrupted by {interrupted.signal_name}: nothing was changed", style="yellow"))
        sys.exit(interrupted.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except OSError as error:  # a file (a full disk, no permission) or a connection the command could not go on without
        if debug:
            traceback.print_exc()
        err.print(_text(f"error: {explain_os_error(error)}", style="red"))
        sys.exit(1)
    except Exception as error:  # the one place a bug is caught: reported, never shown raw
        if debug:
            traceback.print_exc()
        err.print(
            _text(
                f"internal error ({type(error).__name__}); this is a bug in reconcile. Re-run with --debug for the traceback.",
                style="red",
            )
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
