"""observe → pair → diff → Plan. Read-only: kinds' observe and diff never change anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler import __version__
from reconciler.clients.crashpoint import crash_point
from reconciler.costs.assess import assess
from reconciler.errors import ReconcileError
from reconciler.gitinfo import recorded_state_dir
from reconciler.kinds import KINDS, in_use
from reconciler.kinds.base import Kind, Observation, RunContext, Step
from reconciler.model.load import LoadedState
from reconciler.plan.digest import state_digest
from reconciler.plan.schema import Action, Finding, GitInfo, Plan, StateInfo, Summary


@dataclass
class Planned:
    """A plan, and for each of its actions the step apply needs (the desired spec, the observation)."""

    plan: Plan
    steps: dict[str, Step]
    kinds: dict[str, Kind]


def _observe_all(kinds: Mapping[str, Kind], state: Any, ctx: RunContext) -> dict[str, Mapping[str, Observation]]:
    with ThreadPoolExecutor(max_workers=max(1, len(kinds))) as pool:
        futures = {name: pool.submit(kind.observe, getattr(state, kind.section)) for name, kind in kinds.items()}
        return {name: future.result() for name, future in futures.items()}


def _records(observed: Mapping[str, Mapping[str, Observation]], kind: str) -> dict[str, Any] | None:
    """One kind's observation records by name; None when that kind is not registered."""
    return {name: seen.data for name, seen in observed[kind].items()} if kind in observed else None


def _share_observations(state: Any, ctx: RunContext, observed: Mapping[str, Mapping[str, Observation]]) -> None:
    """Kinds that read what others saw (cost_doc reads the markets that run) get it through the
    context: the observations now, and a fresh observe of one kind at apply time."""
    ctx.observed = observed

    def reobserve(kind_name: str) -> Mapping[str, Observation]:
        kind = KINDS[kind_name](ctx)
        return kind.observe(getattr(state, kind.section))

    ctx.reobserve = reobserve


def observe_for_costs(loaded: LoadedState, ctx: RunContext) -> None:
    """For `reconcile docs`: look only at what the cost docs need (the instances' markets)."""
    kinds = {name: factory(ctx) for name, factory in KINDS.items() if name == "ec2_instance"}
    _share_observations(loaded.state, ctx, _observe_all(kinds, loaded.state, ctx) if kinds else {})


def _with_dependencies(targets: Iterable[str], actions: Mapping[str, Action]) -> set[str]:
    """The targets and everything they depend on (as Terraform's -target does)."""
    chosen: set[str] = set()
    pending = list(targets)
    while pending:
        address = pending.pop()
        if address in chosen:
            continue
        if address not in actions:
            raise ReconcileError(f"--target {address}: no such resource in the desired state or among managed resources")
        chosen.add(address)
        pending.extend(actions[address].depends_on)
    return chosen


def make_plan(loaded: LoadedState, ctx: RunContext, targets: Iterable[str] = (), git: GitInfo | None = None) -> Planned:
    kinds = {name: factory(ctx) for name, factory in KINDS.items() if in_use(name, loaded.state)}
    idle: dict[str, Mapping[str, Observation]] = {name: {} for name in KINDS if name not in kinds}
    observed = idle | _observe_all(kinds, loaded.state, ctx)
    crash_point("planner.observed")
    _share_observations(loaded.state, ctx, observed)
    actions: dict[str, Action] = {}
    steps: dict[str, Step] = {}
    findings: list[Finding] = []
    for kind_name, kind in kinds.items():
        desired: Mapping[str, Any] = getattr(loaded.state, kind.section)
        seen = observed[kind_name]
        for name in sorted(set(desired) | set(seen)):
            action = kind.diff(name, desired.get(name), seen.get(name))
            if secrets := (loaded.secrets or {}).get((kind.section, name)):
                action = action.model_copy(update={"secrets": list(secrets)})
            actions[action.address] = action
            steps[action.address] = Step(action, desired.get(name), seen.get(name))
            findings.extend(kind.findings(name, desired.get(name), seen.get(name)))
    costs, cost_findings = assess(loaded.state, _records(observed, "ec2_instance"), _records(observed, "s3_bucket"))
    findings.extend(cost_findings)
    targets = list(targets)
    if targets:
        chosen = _with_dependencies(targets, actions)
        actions = {address: action for address, action in actions.items() if address in chosen}
        findings = [finding for finding in findings if finding.address in chosen]
    ordered = list(actions.values())
    plan = Plan(
        tool_version=__version__,
        state=StateInfo(
            dir=recorded_state_dir(loaded.directory),
            path=str(loaded.directory.resolve()),
            name=loaded.state.settings.name,
            digest=state_digest(loaded.directory, loaded.paths, loaded.variables),
            git=git,
            variables=sorted(loaded.valued),
            known_at_apply=list(loaded.unknown),
        ),
        summary=Summary.of(ordered),
        actions=ordered,
        findings=findings,
        costs=costs,
    )
    return Planned(plan, {address: steps[address] for address in actions}, kinds)
