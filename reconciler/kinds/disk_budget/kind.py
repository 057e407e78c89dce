"""Disk budgets (SPEC §1.3): keep a filesystem under max_used_percent and the build cache under
build_cache_max by pruning only what the budget allows, in its order, only until it holds; and,
when the allowed steps cannot make it hold, say so with the numbers instead of pruning in vain.

A budget is a rule, not a thing: it has no orphans, and removing one from the state deletes nothing.
Its apply runs after every container of its host (depends_on), so a prune never races a create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

import docker

from reconciler.clients.disk import (
    EngineUsage,
    Filesystem,
    Unmeasurable,
    data_root,
    engine_usage,
    filesystem_reader,
    same_filesystem,
)
from reconciler.clients.docker import (
    APIError,
    engine_url,
    explain,
    shown_url,
    ssh_of,
)
from reconciler.errors import ReconcileError
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.disk_budget.reclaim import Projection, Prune, format_percent, format_size, project
from reconciler.kinds.docker_hosts import observe_each_host
from reconciler.kinds.ownership import unreachable_action
from reconciler.model.spec import DiskBudget
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Blocked, Change, Finding

MANAGED_FILTER = "reconciler.managed=true"


@dataclass(frozen=True)
class SeenDisk:
    """A budget's filesystem and its host's engine, as observed at ``at``."""

    host: str
    at: datetime
    filesystem: Filesystem | None  # None: it could not be read (see ``unmeasurable``)
    usage: EngineUsage
    same_filesystem: bool | None  # does the engine keep its data there? None: unknown
    unmeasurable: str | None = None


def projection_of(budget: DiskBudget, seen: SeenDisk) -> Projection | None:
    if seen.filesystem is None:
        return None
    return project(budget, seen.filesystem, seen.usage, seen.at, prunes_help=seen.same_filesystem is not False)


def observation(budget: DiskBudget, seen: SeenDisk) -> Observation:
    """The digest covers what a saved plan's apply would act on: whether the budget or the cache cap
    is exceeded, whether it is blocked, and what each planned step would remove."""
    projection = projection_of(budget, seen)
    if projection is None:
        return Observation(digest_json({"unmeasurable": seen.unmeasurable}), seen)
    material = {
        "over": projection.over,
        "cache_over": projection.cache_over > 0,
        "blocked": projection.shortfall > 0 or (projection.over and not projection.prunes_help),
        "steps": [[step.kind, sorted(step.ids)] for step in projection.steps],
    }
    return Observation(digest_json(material), seen)


def _address(name: str) -> str:
    return f"disk_budget.{name}"


def _blocked(budget: DiskBudget, seen: SeenDisk, projection: Projection) -> Blocked | None:
    if not projection.over:
        return None
    path, used, target = budget.path, projection.used_percent, f"{budget.max_used_percent}%"
    if not projection.prunes_help:
        return Blocked(
            reason=(
                f"{path} is at {used}, over its {target} budget by {format_size(projection.needed)}, but the engine on "
                f"{seen.host} keeps its data in {seen.usage.root_dir}, on another filesystem: pruning frees nothing on {path}"
            ),
            remedy=f"point the budget's path at the filesystem of {seen.usage.root_dir}, or free space on {path} by other means",
        )
    if projection.shortfall == 0:
        return None
    allowed = ", ".join(step.kind for step in budget.prune) or "none"
    return Blocked(
        reason=(
            f"{path} is at {used} of {format_size(projection.filesystem.usable)}, over its {target} budget: "
            f"{format_size(projection.needed)} must be freed, and the allowed prune steps ({allowed}) reclaim "
            f"{format_size(projection.reclaim)}, to {projection.projected_percent}; "
            f"what takes the space: {'; '.join(projection.left) or 'nothing Docker holds'}"
        ),
        remedy="; ".join(
            [
                *projection.hints,
                "or remove images and containers no longer needed, grow the filesystem, or raise max_used_percent",
            ]
        ),
    )


def _changes(budget: DiskBudget, projection: Projection) -> list[Change]:
    changes = [Change(path=f"prune.{step.kind}", before=step.before, after=step.after) for step in projection.steps]
    if projection.over:
        after = f"{projection.projected_percent} (budget {budget.max_used_percent}%)"
        changes.append(Change(path="used_percent", before=projection.used_percent, after=after))
    return changes


def _reasons(budget: DiskBudget, projection: Projection) -> list[str]:
    reasons = []
    if projection.over:
        reasons.append(
            f"{budget.path} at {projection.used_percent} is over its {budget.max_used_percent}% budget "
            f"by {format_size(projection.needed)}"
        )
    if projection.cache_over and budget.build_cache_max is not None:
        reasons.append(
            f"build cache {format_size(projection.cache_size)} is over build_cache_max {format_size(budget.build_cache_max)}"
        )
    return reasons


def _go_duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


def _until(step: Prune) -> dict[str, str]:
    return {"until": _go_duration(step.older_than)} if step.older_than else {}


class DiskBudgetKind:
    kind: ClassVar[str] = "disk_budget"
    section: ClassVar[str] = "disk_budgets"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.unreachable: dict[str, str] = {}  # host → why observe could not read it

    def client(self, host: str) -> docker.APIClient:
        return self.ctx.docker(host)

    def _measure(self, host: str, path: str) -> Filesystem:
        spec = self.ctx.state.hosts[host]
        return filesystem_reader(engine_url(spec), shown_url(spec), ssh_of(self.client(host)))(path)

    # --- observe ----------------------------------------------------------------------------

    def observe(self, desired: Mapping[str, DiskBudget]) -> Mapping[str, Observation]:
        """The hosts the budgets name, at once; one that cannot be reached blocks only its own budgets (see diff)."""

        def one(host: str) -> dict[str, Observation]:
            return {name: observation(desired[name], seen) for name, seen in self._observe_host(host, desired).items()}

        hosts = sorted({budget.host or "" for budget in desired.values()})
        return observe_each_host(self.ctx.state, one, self.unreachable, engine_optional=False, hosts=hosts)

    def _observe_host(self, host: str, desired: Mapping[str, DiskBudget]) -> dict[str, SeenDisk]:
        """One df of the host's engine, the filesystem of each budget's path; and, only when a budget
        is exceeded, where the engine keeps its data (whether pruning can help at all)."""
        budgets = {name: budget for name, budget in desired.items() if budget.host == host}
        self.ctx.progress("disk_budget.*", f"reading the disk usage of the engine on {host}")
        client = self.client(host)
        try:
            usage = engine_usage(client)
            seen = {name: self._seen(budget, usage) for name, budget in budgets.items()}
            if any(self._exceeded(budgets[name], one) for name, one in seen.items()):
                usage = replace(usage, root_dir=data_root(client))
                seen = {name: self._seen(budget, usage) for name, budget in budgets.items()}
        except APIError as error:
            raise ReconcileError(f"host {host}: cannot read the engine's disk usage: {explain(error)}") from None
        return seen

    @staticmethod
    def _exceeded(budget: DiskBudget, seen: SeenDisk) -> bool:
        projection = projection_of(budget, seen)
        return projection is not None and projection.over

    def _seen(self, budget: DiskBudget, usage: EngineUsage) -> SeenDisk:
        host = budget.host or ""
        try:
            filesystem = self._measure(host, budget.path)
        except Unmeasurable as error:
            return SeenDisk(host, self.ctx.now, None, usage, None, str(error))
        return SeenDisk(host, self.ctx.now, filesystem, usage, same_filesystem(filesystem, usage.root_dir))

    # --- diff (pure) ------------------------------------------------------------------------

    def diff(self, name: str, desired: DiskBudget | None, observed: Observation | None) -> Action:
        address = _address(name)
        digest = observed.digest if observed else digest_json({"absent": True})
        depends_on = sorted(f"container.{n}" for n, c in self.ctx.state.containers.items() if desired and c.host == desired.host)

        def action(reasons: list[str], changes: list[Change], blocked: Blocked | None, unread: bool = False) -> Action:
            kind = "update" if (changes or blocked) and not unread else "noop"
            return Action(
                address=address, type=self.kind, action=kind, reasons=reasons, changes=changes,
                observed_digest=digest, depends_on=depends_on, blocked=blocked, host=desired.host if desired else None,
            )  # fmt: skip

        if desired is not None and observed is None and (desired.host or "") in self.unreachable:
            remedy = f"make host {desired.host} reachable (check the engine, the network, its SSH or TLS settings)"
            return unreachable_action(
                action([], [], None), f"host {desired.host or ''}", self.unreachable[desired.host or ""], remedy
            )
        if desired is None or observed is None:
            return action([], [], None)
        seen: SeenDisk = observed.data
        projection = projection_of(desired, seen)
        if projection is None:
            reason = seen.unmeasurable or f"the filesystem of {desired.path} on {seen.host} could not be read"
            remedy = "run reconcile where the engine runs (a unix:// host), or leave this budget out until then"
            return action([f"cannot measure {desired.path}"], [], Blocked(reason=reason, remedy=remedy))
        return action(_reasons(desired, projection), _changes(desired, projection), _blocked(desired, seen, projection))

    def findings(self, name: str, desired: DiskBudget | None, observed: Observation | None) -> list[Finding]:
        """None: a budget exceeded is its action, with its numbers (no finding repeats it)."""
        return []

    # --- apply ------------------------------------------------------------------------------

    def apply(self, step: Step) -> StepResult:
        budget: DiskBudget | None = step.desired
        seen: SeenDisk | None = step.observed.data if step.observed else None
        if budget is None or seen is None or seen.filesystem is None:
            return StepResult(True, "nothing to do")
        projection = project(budget, seen.filesystem, seen.usage, seen.at, prunes_help=seen.same_filesystem is not False)
        address, limit = step.action.address, projection.limit
        filesystem = seen.filesystem
        said: list[str] = []
        for prune in projection.steps:
            if self.ctx.stopping.is_set():
                said.append(f"{prune.kind}: not started (apply is stopping)")
                break
            holds = filesystem.used <= limit
            if holds and prune.keep_storage is None:
                said.append(f"{prune.kind}: not needed, the budget holds")
                continue
            self.ctx.progress(address, f"pruning {prune.kind.replace('_', ' ')}")
            try:
                removed = self._prune(seen, prune, trim_only=holds or not prune.everything)
                after = self._measure(seen.host, budget.path)
            except (APIError, Unmeasurable) as error:
                said.append(f"{prune.kind} failed: {explain(error) if isinstance(error, APIError) else error}")
                return StepResult(False, "; ".join(said))
            said.append(f"{prune.kind}: {format_size(max(0, filesystem.used - after.used))} freed ({removed})")
            filesystem = after
        where = f"{budget.path} at {format_percent(filesystem.used, filesystem.usable)} (budget {budget.max_used_percent}%)"
        if filesystem.used > limit:
            return StepResult(False, "; ".join([*said, f"{where}: still over budget; the next plan shows what is left"]))
        return StepResult(True, "; ".join([*said, where]))

    def _prune(self, seen: SeenDisk, prune: Prune, trim_only: bool) -> str:
        """One step through the engine's prune API → what it removed, as a user reads it."""
        client = self.client(seen.host)
        if prune.kind == "build_cache":
            deleted = 0
            if not trim_only:
                if prune.older_than:
                    result = client.prune_builds(filters={"until": _go_duration(prune.older_than)}, all=True)
                else:
                    result = client.prune_builds(all=True)
                deleted += len(result.get("CachesDeleted") or [])
            if prune.keep_storage is not None:
                trimmed = client.prune_builds(keep_storage=prune.keep_storage, all=True)
                deleted += len(trimmed.get("CachesDeleted") or [])
            return f"{deleted} cache records"
        if prune.kind in ("dangling_images", "unused_images"):
            filters: dict[str, Any] = {"dangling": prune.kind == "dangling_images", **_until(prune)}
            result = client.prune_images(filters=filters)  # type: ignore[no-untyped-call]
            known = {image.id for image in seen.usage.images}
            deleted = sum(1 for entry in result.get("ImagesDeleted") or [] if entry.get("Deleted") in known)
            return f"{deleted} images"
        result = client.prune_containers(filters={**_until(prune), "label!": MANAGED_FILTER})  # type: ignore[no-untyped-call]
        return f"{len(result.get('ContainersDeleted') or [])} containers"

    def verify(self) -> dict[str, StepResult]:
        return {}


KIND = DiskBudgetKind
