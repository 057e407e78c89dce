"""The watch loop: plan every interval and report drift; with apply, heal it — only while the state
directory is at the commit last applied, under the state's lock, with failing steps retried on an
exponential backoff rather than every round. `stop()` (SIGTERM/SIGINT, from the CLI) lets the
current step finish, starts nothing new and ends the loop; the lock is released on the way out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.apply.applied import RECORD as APPLIED
from reconciler.apply.applied import record_applied, refusal
from reconciler.apply.executor import ApplyResult, apply_planned
from reconciler.apply.lock import backend_lock
from reconciler.errors import ConfigError, LockHeld, ReconcileError
from reconciler.gitinfo import git_info, no_commit_reason
from reconciler.kinds.base import Progress, RunContext, no_progress
from reconciler.model.load import LoadedState, load_state
from reconciler.plan.report import Outcome
from reconciler.plan.schema import Action, Plan
from reconciler.planner import Planned, make_plan
from reconciler.watch.backoff import Backoff
from reconciler.watch.metrics import WatchMetrics

PLAN_KEY = "(plan)"
SHOWN_ADDRESSES = 3


@dataclass(frozen=True)
class WatchOptions:
    directory: Path
    interval: float  # seconds
    apply: bool = False
    parallelism: int | None = None


class Watcher:
    def __init__(
        self, options: WatchOptions, say: Callable[[str], None], metrics: WatchMetrics, progress: Progress = no_progress
    ) -> None:
        self.options = options
        self.say = say
        self.metrics = metrics
        self.progress = progress
        self.stopping = threading.Event()
        self.backoff = Backoff(options.interval)
        self.round_number = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.round_number += 1
            started = time.monotonic()
            line = self.round()
            self.metrics.rounds.inc()
            self.say(f"{datetime.now(UTC):%H:%M:%S} round {self.round_number}: {line}")
            wait = max(self.options.interval, self.backoff.waiting(PLAN_KEY, time.monotonic()))
            self.stopping.wait(max(0.0, wait - (time.monotonic() - started)))

    # --- one round --------------------------------------------------------------------------

    def round(self) -> str:
        if self.backoff.waiting(PLAN_KEY, time.monotonic()):
            return "waiting (the last plan failed)"
        try:
            loaded = load_state(self.options.directory, mode="apply" if self.options.apply else "plan")
            with self._context(loaded) as context:
                planned, seconds = _timed_plan(loaded, context)
        except ConfigError as error:
            return self._plan_failed(f"{error}: {error.diagnostics[0] if error.diagnostics else ''}")
        except ReconcileError as error:
            return self._plan_failed(str(error))
        self.backoff.succeeded(PLAN_KEY)
        self.metrics.planned(planned.plan, seconds)
        drifted = _drifted(planned.plan)
        if not drifted:
            return f"no drift ({len(planned.plan.actions)} resources, plan {seconds:.1f}s)"
        said = f"drift in {_listed(drifted)}"
        if not self.options.apply:
            return f"{said}; report only (watch --apply heals it)"
        if self.stopping.is_set():
            return f"{said}; not applied: stopping"
        try:
            with backend_lock(loaded.state, loaded.directory, 0, self.say):
                return f"{said}; {self._heal(loaded)}"
        except LockHeld:
            return f"{said}; not applied: another apply holds the lock; next round"
        except ReconcileError as error:
            return self._plan_failed(str(error))

    def _plan_failed(self, message: str) -> str:
        self.metrics.plan_errors.inc()
        wait = self.backoff.failed(PLAN_KEY, time.monotonic())
        return f"plan failed: {message}; next try in {wait:.0f}s"

    @contextmanager
    def _context(self, loaded: LoadedState) -> Iterator[RunContext]:
        context = RunContext(
            state=loaded.state,
            state_dir=loaded.directory,
            now=datetime.now(UTC),
            progress=self.progress,
            parallelism=self.options.parallelism or loaded.state.settings.parallelism,
            stopping=self.stopping,
        )
        try:
            yield context
        finally:
            context.close()

    # --- healing ----------------------------------------------------------------------------

    def _heal(self, loaded: LoadedState) -> str:
        """Under the lock: plan again (what was seen unlocked may have moved), then apply what is
        due. Blocked actions and steps in backoff wait."""
        with self._context(loaded) as context:
            planned, _ = _timed_plan(loaded, context)
            why_not = self._why_not(planned.plan, loaded, context)
            if why_not is not None:
                return why_not
            due, waiting = self._due(planned.plan)
            if not due:
                return f"not applied: {waiting}" if waiting else "nothing to apply now"
            result = apply_planned(_only(planned, due), context, lambda _address: None, lambda _outcome: None)
            if result.ok:
                record_applied(context.record(APPLIED), planned.plan.state.git, datetime.now(UTC))
        return self._tell(result, waiting)

    def _why_not(self, plan: Plan, loaded: LoadedState, context: RunContext) -> str | None:
        refused = refusal(context.record(APPLIED), plan.state.git, no_commit_reason(loaded.directory))
        if refused is not None:
            self.metrics.refused.labels(reason="commit").inc()
            return f"not applied: {refused}"
        if plan.errors() and loaded.state.settings.policy_mode == "enforce":
            self.metrics.refused.labels(reason="policy").inc()
            return f"not applied: {len(plan.errors())} error finding(s) and settings.policy_mode is enforce"
        return None

    def _due(self, plan: Plan) -> tuple[set[str], str]:
        """The changes to apply this round: not blocked, not in backoff, depending on nothing that is."""
        now = time.monotonic()
        changes = {a.address: a for a in plan.actions if a.is_change and a.blocked is None}
        held = {address for address in changes if self.backoff.waiting(address, now)}
        held |= _dependants_of(held, changes)
        self.metrics.backing_off.set(len(held))
        waiting = ", ".join(
            f"{address} (failing; next try in {self.backoff.waiting(address, now):.0f}s)"
            if self.backoff.waiting(address, now)
            else f"{address} (waits for a failing step)"
            for address in sorted(held)
        )
        return set(changes) - held, waiting

    def _tell(self, result: ApplyResult, waiting: str) -> str:
        parts = []
        now = time.monotonic()
        for outcome in result.outcomes:
            if outcome.status == "done":
                self.backoff.succeeded(outcome.address)
                self.metrics.applied_steps.inc()
            elif outcome.status == "failed":
                self.metrics.apply_failures.inc()
                wait = self.backoff.failed(outcome.address, now)
                parts.append(f"{outcome.address} failed: {outcome.message} (next try in {wait:.0f}s)")
            else:
                parts.append(f"{outcome.address} {outcome.status}: {outcome.message}")
        done = [o.address for o in result.outcomes if o.status == "done"]
        if done:
            self.metrics.last_apply.set(time.time())
            parts.insert(0, f"applied {_listed_addresses(done)}" + (f" ({_applied_messages(result.outcomes)})"))
        if waiting:
            parts.append(f"waiting: {waiting}")
        return "; ".join(parts) or "nothing applied"


def _drifted(plan: Plan) -> list[Action]:
    return [a for a in plan.actions if a.is_change or a.blocked is not None]


def _listed(actions: list[Action]) -> str:
    shown = [f"{a.address} ({a.action}{', blocked' if a.blocked else ''})" for a in actions[:SHOWN_ADDRESSES]]
    more = len(actions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _listed_addresses(addresses: list[str]) -> str:
    more = len(addresses) - SHOWN_ADDRESSES
    return ", ".join(addresses[:SHOWN_ADDRESSES]) + (f" and {more} more" if more > 0 else "")


def _applied_messages(outcomes: list[Outcome]) -> str:
    return ", ".join(sorted({o.message for o in outcomes if o.status == "done"}))


def _dependants_of(held: set[str], changes: dict[str, Action]) -> set[str]:
    dependants: set[str] = set()
    grew = True
    while grew:
        grew = False
        for address, action in changes.items():
            if address not in held | dependants and any(d in held | dependants for d in action.depends_on):
                dependants.add(address)
                grew = True
    return dependants


def _only(planned: Planned, addresses: set[str]) -> Planned:
    plan = planned.plan.model_copy(update={"actions": [a for a in planned.plan.actions if a.address in addresses]})
    return Planned(plan, {k: v for k, v in planned.steps.items() if k in addresses}, planned.kinds)


def _timed_plan(loaded: LoadedState, context: RunContext) -> tuple[Planned, float]:
    started = time.monotonic()
    planned = make_plan(loaded, context, git=git_info(loaded.directory))
    return planned, time.monotonic() - started
