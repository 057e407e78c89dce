"""What plan, apply and docs share: a run's context, a plan made from a loaded state, the saved plan
file (written and read in one place), and the policy gate."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli.app import err, text, warn
from reconciler.errors import ReconcileError

if TYPE_CHECKING:
    from reconciler.kinds.base import RunContext
    from reconciler.model.load import LoadedState
    from reconciler.plan.schema import Plan
    from reconciler.planner import Planned
    from reconciler.progress import ProgressView


@contextmanager
def run_context(loaded: LoadedState, progress: ProgressView, parallelism: int | None) -> Iterator[RunContext]:
    """The context every kind of one run shares, closed (its connections) when the run ends."""
    from reconciler.kinds.base import RunContext

    context = RunContext(
        state=loaded.state,
        state_dir=loaded.directory,
        now=datetime.now(UTC),
        progress=progress,
        parallelism=parallelism or loaded.state.settings.parallelism,
        values_wait_for_apply=bool(loaded.unknown),
    )
    try:
        yield context
    finally:
        context.close()


def make_plan(loaded: LoadedState, context: RunContext, targets: Iterable[str] = ()) -> Planned:
    """The plan of ``loaded``, stamped with the git commit of its directory."""
    from reconciler.gitinfo import git_info
    from reconciler.planner import make_plan

    return make_plan(loaded, context, targets, git=git_info(loaded.directory, warn))


def say_known_at_apply(loaded: LoadedState) -> None:
    if loaded.unknown:
        names = ", ".join(loaded.unknown)
        err.print(
            text(f"not set: {names}; what uses {'it' if len(loaded.unknown) == 1 else 'them'} is known at apply", style="yellow")
        )


def policy_fails(plan: Plan, loaded: LoadedState) -> bool:
    return bool(plan.errors()) and loaded.state.settings.policy_mode == "enforce"


def plan_json(plan: Plan) -> str:
    """The plan as `plan --format json` prints it and `plan --out` saves it."""
    return plan.model_dump_json(indent=2) + "\n"


def read_saved_plan(path: Path) -> Plan:
    from reconciler.plan.schema import Plan

    try:
        return Plan.model_validate_json(path.read_bytes())
    except ValueError:
        raise ReconcileError(f"{path}: not a plan file made by `reconcile plan --out`") from None
