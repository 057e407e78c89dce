"""Apply a plan: (for a saved plan) check it is still true, then walk its steps. The executor makes
no decisions about any kind; each step is its kind's apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.apply.graph import build_graph
from reconciler.apply.walk import walk
from reconciler.clients.crashpoint import crash_point
from reconciler.clients.records import Record, RecordNotWritten
from reconciler.errors import ReconcileError, StalePlan, explain_os_error
from reconciler.kinds.base import RunContext, StepResult
from reconciler.model.interpolate import in_variable_field
from reconciler.plan.report import Outcome
from reconciler.plan.schema import CONTENT_FIELDS, Action, Plan, Summary
from reconciler.planner import Planned

CREATING = ("create", "replace")  # steps whose intent goes into the journal before they start


@dataclass(frozen=True)
class ApplyResult:
    outcomes: list[Outcome]
    notes: list[str] = field(default_factory=list)  # what went wrong after the walk (checks, the journal)

    @property
    def ok(self) -> bool:
        return not self.notes and all(outcome.status == "done" for outcome in self.outcomes)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


def check_still_true(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan when the state changed, or any resource it changes looks different now
    (including one that did not exist then and does now)."""
    if saved.state.digest != fresh.state.digest:
        raise StalePlan("stale plan: the desired state changed since the plan was made; make a new plan")
    moved = []
    for action in saved.actions:
        now = fresh.action(action.address)
        if action.known_at_apply:  # apply may add a change where the plan could not know the value
            if (
                now is None
                or now.observed_digest != action.observed_digest
                or _reviewed(now, action) != _reviewed(action, action)
            ):
                moved.append(action.address)
            continue
        if not action.is_change and action.blocked is None:
            continue
        if (
            now is None
            or now.observed_digest != action.observed_digest
            or now.action != action.action
            or _variable_changes(now) != _variable_changes(action)  # a variable's value moved since
            or _content_changes(now) != _content_changes(action)  # a mounted file or config was edited since
        ):
            moved.append(action.address)
    if moved:
        raise StalePlan(f"stale plan: changed since the plan was made: {', '.join(moved)}; make a new plan")


def _reviewed(action: Action, saved: Action) -> list[tuple[str, Any, Any]]:
    """The changes a reviewer read in the saved plan: all but the fields it showed as known at apply."""
    return [(c.path, c.before, c.after) for c in action.changes if c.path not in saved.known_at_apply]


def _variable_changes(action: Action) -> list[tuple[str, Any, Any]]:
    """The changes in fields whose values may come from variables (which never drift on a running
    container: changing them means a new container)."""
    return [(c.path, c.before, c.after) for c in action.changes if in_variable_field(c.path)]


def _content_changes(action: Action) -> list[tuple[str, Any, Any]]:
    """The changes that name a file's content (a bind-mounted repository file, a config): apply
    reads the file again, so what it would write must be what the plan showed."""
    return [(c.path, c.before, c.after) for c in action.changes if c.path.startswith(CONTENT_FIELDS)]


def restrict(planned: Planned, saved: Plan) -> Planned:
    """Only what the saved plan would change (or left to values known at apply)."""
    chosen = {a.address for a in saved.actions if a.is_change or a.blocked}
    chosen |= {a.address for a in saved.actions if a.known_at_apply and (now := planned.plan.action(a.address)) and now.is_change}
    actions = [a for a in planned.plan.actions if a.address in chosen]
    plan = planned.plan.model_copy(update={"actions": actions, "summary": Summary.of(actions)})  # counts what it applies
    return Planned(plan, {k: v for k, v in planned.steps.items() if k in chosen}, planned.kinds)


def apply_planned(
    planned: Planned, ctx: RunContext, on_start: Callable[[str], None], on_end: Callable[[Outcome], None]
) -> ApplyResult:
    blocked = [
        Outcome(a.address, "blocked", f"blocked: {a.blocked.reason} ({a.blocked.remedy})")
        for a in planned.plan.actions
        if a.blocked is not None
    ]
    for outcome in blocked:
        on_end(outcome)

    journal = ctx.journal

    def run(address: str) -> StepResult:
        step = planned.steps[address]
        if step.action.action in CREATING:
            try:
                journal.begin(address, step.action.action, datetime.now(UTC))
            except (OSError, RecordNotWritten) as error:  # the intent comes first: without it, nothing is done
                said = record_failure(journal.record, error)
                return StepResult(False, f"nothing done: its intent could not be written to {said}")
        result = planned.kinds[step.action.type].apply(step)
        crash_point(f"{step.action.type}.applied")  # done, and its intent not yet closed
        if result.ok:
            try:
                journal.end([address])
            except (OSError, RecordNotWritten) as error:
                return StepResult(False, f"{result.message}, but {record_failure(journal.record, error)} could not be updated")
        return result

    outcomes = walk(
        build_graph(planned.plan.actions), run, ctx.parallelism, ctx.stopping, on_start, on_end, lambda: ctx.stopped_by
    )
    notes: list[str] = []
    for kind in planned.kinds.values():
        try:
            verified = kind.verify()
        except (ReconcileError, OSError) as error:  # the report of what was done is never lost for it
            notes.append(f"could not check that the {kind.kind} steps held: {_said(error)}")
            continue
        for address, result in verified.items():
            if address in outcomes and outcomes[address].status == "done" and not result.ok:
                outcomes[address] = Outcome(address, "failed", result.message, outcomes[address].seconds)
                on_end(outcomes[address])
    try:
        forget_settled(planned, ctx)
    except (OSError, RecordNotWritten) as error:
        notes.append(f"could not clear settled intents from {record_failure(journal.record, error)}")
    except ReconcileError as error:
        notes.append(f"could not clear settled intents from the journal: {error}")
    order = [a.address for a in planned.plan.actions]
    return ApplyResult(blocked + sorted(outcomes.values(), key=lambda o: order.index(o.address)), notes)


def _said(error: ReconcileError | OSError) -> str:
    return explain_os_error(error) if isinstance(error, OSError) else str(error)


def forget_settled(planned: Planned, ctx: RunContext) -> None:
    """Journal intents of resources the plan found settled (a noop: nothing left to finish or undo)."""
    ctx.journal.end(action.address for action in planned.plan.actions if action.action == "noop" and action.blocked is None)


def record_failure(record: Record, error: OSError | RecordNotWritten) -> str:
    """'the journal (FILE: cause)': a record a write failed on, named by its place, and why."""
    if isinstance(error, RecordNotWritten):
        return f"the {record.name} ({error.path}: {error.cause})"
    place = error.filename or getattr(record.backend, "path", lambda name: f"{record.backend.url} {name}")(record.name)
    return f"the {record.name} ({place}: {error.strerror or error})"
