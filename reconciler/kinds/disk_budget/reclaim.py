"""What a disk budget's prune steps would reclaim, from the engine's own numbers. Pure: no I/O.

The steps are simulated in their order, each on what the steps before it leave: a container pruned
no longer holds its image, an image pruned is not counted twice. What each step selects is what the
engine's prune API removes:

  build_cache         records neither in use nor shared (a shared record's storage is an image's),
                      unused for older_than; then, with build_cache_max, down to it (keep-storage)
  dangling_images     untagged images no container uses, created before older_than
  unused_images       images no container uses, running or not, created before older_than
  stopped_containers  stopped containers created before older_than, never a managed one

Image bytes count only layers no other image shares: a lower bound (images pruned together may free
shared layers too), so a plan may list a step that apply then finds it does not need, and never
promises more than the engine frees. Percentages are rounded up to a tenth, as df rounds up, so a
budget that does not hold is never shown as met.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from reconciler.clients.disk import CacheRecord, EngineUsage, Filesystem
from reconciler.model.spec import DiskBudget, PruneStep
from reconciler.units import format_duration


def format_size(size: int) -> str:
    """Bytes for a human, in the powers of 1000 that `docker system df` uses: 13_590_000_000 → ``13.59 GB``."""
    amount = Decimal(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(amount) < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.2f} {unit}"
        amount /= 1000
    raise AssertionError("unreachable")


def format_percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` in percent, rounded up to a tenth: 84.01 % shows as 84.1%."""
    tenths = -(-part * 1000 // whole) if whole > 0 else 0
    return f"{tenths // 10}.{tenths % 10}%"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class Remaining:
    """What the engine holds after the steps simulated so far (by id)."""

    cache: frozenset[str]
    images: frozenset[str]
    containers: frozenset[str]

    @classmethod
    def of(cls, usage: EngineUsage) -> Remaining:
        return cls(
            frozenset(r.id for r in usage.cache), frozenset(i.id for i in usage.images), frozenset(c.id for c in usage.containers)
        )

    def without(self, ids: Iterable[str]) -> Remaining:
        gone = set(ids)
        return Remaining(self.cache - gone, self.images - gone, self.containers - gone)


@dataclass(frozen=True)
class Prune:
    """One planned prune step."""

    kind: str  # one of PRUNE_KINDS
    older_than: timedelta | None
    reclaim: int  # bytes, at least
    ids: tuple[str, ...]  # what it removes: cache record, image or container ids
    before: str  # the category now, as a user reads it
    after: str  # what the step does
    everything: bool = True  # build cache: every unused record (the budget needs them), not only the keep-storage trim
    keep_storage: int | None = None  # build cache: then down to this (build_cache_max)


@dataclass(frozen=True)
class Projection:
    """A budget against what was observed: the steps to run and where they would leave the disk."""

    filesystem: Filesystem
    budget_percent: int
    limit: int  # bytes that may be used
    needed: int  # bytes to free for the budget to hold
    cache_size: int  # build cache on disk (shared records not counted)
    cache_over: int  # bytes of build cache above build_cache_max
    steps: tuple[Prune, ...]
    hints: tuple[str, ...]  # what more the budget could allow, with what it would reclaim
    left: tuple[str, ...]  # what takes the space after the steps, biggest first
    prunes_help: bool  # False: the engine keeps its data on another filesystem

    @property
    def reclaim(self) -> int:
        return sum(step.reclaim for step in self.steps)

    @property
    def shortfall(self) -> int:
        return max(0, self.needed - self.reclaim)

    @property
    def over(self) -> bool:
        return self.needed > 0

    @property
    def used_percent(self) -> str:
        return format_percent(self.filesystem.used, self.filesystem.usable)

    @property
    def projected_percent(self) -> str:
        return format_percent(max(0, self.filesystem.used - self.reclaim), self.filesystem.usable)


def _older(moment: datetime | None, at: datetime, older_than: timedelta | None) -> bool:
    return older_than is None or (moment is not None and moment <= at - older_than)


def _cache_on_disk(records: Iterable[CacheRecord]) -> int:
    return sum(record.size for record in records if not record.shared)


def _prunable(record: CacheRecord) -> bool:
    return not record.in_use and not record.shared


def _unused_for(older_than: timedelta | None) -> str:
    return f", unused for {format_duration(older_than)}" if older_than else ""


def _created_over(older_than: timedelta | None) -> str:
    return f", created over {format_duration(older_than)} ago" if older_than else ""


def _build_cache(
    usage: EngineUsage, left: Remaining, at: datetime, older_than: timedelta | None, everything: bool, cap: int | None
) -> Prune:
    records = [r for r in usage.cache if r.id in left.cache]
    before = f"{format_size(_cache_on_disk(records))} in {_plural(len(records), 'record')}"
    chosen = [r for r in records if _prunable(r) and _older(r.last_used_at or r.created_at, at, older_than)] if everything else []
    freed = sum(r.size for r in chosen)
    parts = [f"{_plural(len(chosen), 'record')} neither in use nor shared{_unused_for(older_than)}"] if chosen else []
    keep = None
    if cap is not None and _cache_on_disk(records) - freed > cap:
        keep = cap
        taken = {r.id for r in chosen}
        rest = sorted(
            (r for r in records if _prunable(r) and r.id not in taken), key=lambda r: r.last_used_at or r.created_at or at
        )
        target = _cache_on_disk(records) - freed - cap
        trimmed: list[CacheRecord] = []
        for record in rest:  # BuildKit removes the least recently used first
            if sum(r.size for r in trimmed) >= target:
                break
            trimmed.append(record)
        trim = min(target, sum(r.size for r in trimmed))
        freed += trim
        chosen += trimmed
        parts.append(f"down to build_cache_max {format_size(cap)} (keep-storage)")
    after = (f"reclaim {format_size(freed)}: " + ", then ".join(parts)) if parts else "reclaim 0 B"
    return Prune("build_cache", older_than, freed, tuple(r.id for r in chosen), before, after, everything, keep)


def _users(usage: EngineUsage, left: Remaining) -> set[str]:
    """The images that a remaining container, running or not, was made from."""
    return {c.image_id for c in usage.containers if c.id in left.containers}


def _images(usage: EngineUsage, left: Remaining, at: datetime, older_than: timedelta | None, dangling: bool) -> Prune:
    images = [i for i in usage.images if i.id in left.images]
    used = _users(usage, left)
    chosen = [i for i in images if i.id not in used and (i.dangling or not dangling) and _older(i.created, at, older_than)]
    freed = sum(i.unique_size for i in chosen)
    before = f"{format_size(usage.layers_size)} in {_plural(len(images), 'image')}"
    what = f"dangling {'image' if len(chosen) == 1 else 'images'}" if dangling else ("image" if len(chosen) == 1 else "images")
    after = f"reclaim {format_size(freed)}: {len(chosen)} {what} no container uses{_created_over(older_than)}"
    return Prune(
        "dangling_images" if dangling else "unused_images", older_than, freed, tuple(i.id for i in chosen), before, after
    )


def _containers(usage: EngineUsage, left: Remaining, at: datetime, older_than: timedelta | None) -> Prune:
    stopped = [c for c in usage.containers if c.id in left.containers and c.stopped]
    chosen = [c for c in stopped if not c.managed and _older(c.created, at, older_than)]
    freed = sum(c.size for c in chosen)
    before = f"{format_size(sum(c.size for c in stopped))} in {_plural(len(stopped), 'stopped container')}"
    kept = sum(1 for c in stopped if c.managed)
    spared = f" ({_plural(kept, 'managed one')} kept)" if kept else ""
    after = f"reclaim {format_size(freed)}: {_plural(len(chosen), 'unmanaged container')}{_created_over(older_than)}{spared}"
    return Prune("stopped_containers", older_than, freed, tuple(c.id for c in chosen), before, after)


def simulate(
    step: PruneStep, usage: EngineUsage, left: Remaining, at: datetime, cap: int | None, everything: bool = True
) -> Prune:
    if step.kind == "build_cache":
        return _build_cache(usage, left, at, step.older_than, everything, cap)
    if step.kind in ("dangling_images", "unused_images"):
        return _images(usage, left, at, step.older_than, dangling=step.kind == "dangling_images")
    return _containers(usage, left, at, step.older_than)


def project(budget: DiskBudget, filesystem: Filesystem, usage: EngineUsage, at: datetime, prunes_help: bool = True) -> Projection:
    """The steps of ``budget.prune``, in order, until the budget holds (and the build cache trimmed to
    build_cache_max whether or not the budget needs it)."""
    limit = filesystem.usable * budget.max_used_percent // 100
    needed = max(0, filesystem.used - limit)
    cap = budget.build_cache_max
    cache_size = _cache_on_disk(usage.cache)
    cache_over = max(0, cache_size - cap) if cap is not None else 0
    listed = [step.kind for step in budget.prune]
    left = Remaining.of(usage)
    steps: list[Prune] = []
    missing = needed if prunes_help else 0
    if cache_over and "build_cache" not in listed:
        trim = _build_cache(usage, left, at, None, False, cap)
        steps.append(trim)
        left = left.without(trim.ids)
    for step in budget.prune:
        if missing > 0:
            planned = simulate(step, usage, left, at, cap)
        elif step.kind == "build_cache" and cache_over:
            planned = simulate(step, usage, left, at, cap, everything=False)
        else:
            continue
        if planned.reclaim > 0:
            steps.append(planned)
            left = left.without(planned.ids)
            missing -= planned.reclaim
    used_after = max(0, filesystem.used - sum(s.reclaim for s in steps))
    return Projection(
        filesystem=filesystem,
        budget_percent=budget.max_used_percent,
        limit=limit,
        needed=needed,
        cache_size=cache_size,
        cache_over=cache_over,
        steps=tuple(steps),
        hints=_hints(budget, usage, left, at),
        left=what_takes_the_space(usage, left, used_after if prunes_help else None),
        prunes_help=prunes_help,
    )


def _hints(budget: DiskBudget, usage: EngineUsage, left: Remaining, at: datetime) -> tuple[str, ...]:
    """Steps the budget does not allow, and older_than filters it sets, that would reclaim more."""
    hints = []
    listed = {step.kind: step for step in budget.prune}
    for kind in ("build_cache", "dangling_images", "unused_images", "stopped_containers"):
        more = simulate(PruneStep(kind), usage, left, at, None).reclaim
        if more <= 0:
            continue
        step = listed.get(kind)
        if step is None:
            hints.append(f"allow {kind} in prune (it would reclaim {format_size(more)})")
        elif step.older_than is not None:
            hints.append(f"{kind} without older_than {format_duration(step.older_than)} would reclaim {format_size(more)} more")
    return tuple(hints)


def what_takes_the_space(usage: EngineUsage, left: Remaining, used: int | None) -> tuple[str, ...]:
    """What the engine (and, given the filesystem's used bytes, everything else) holds, biggest first."""
    images = [i for i in usage.images if i.id in left.images]
    gone = [i for i in usage.images if i.id not in left.images]
    image_bytes = max(0, usage.layers_size - sum(i.unique_size for i in gone))
    in_use = _users(usage, left)
    parts: list[tuple[int, str]] = []
    if images:
        using = sum(1 for i in images if i.id in in_use)
        which = "all in use" if using == len(images) else "none in use" if using == 0 else f"{using} in use"
        parts.append((image_bytes, f"{format_size(image_bytes)} in {_plural(len(images), 'image')}, {which}"))
    records = [r for r in usage.cache if r.id in left.cache]
    cache = _cache_on_disk(records)
    if cache:
        parts.append((cache, f"{format_size(cache)} of build cache in {_plural(len(records), 'record')}"))
    containers = [c for c in usage.containers if c.id in left.containers]
    writable = sum(c.size for c in containers)
    if writable:
        running = sum(1 for c in containers if not c.stopped)
        parts.append(
            (writable, f"{format_size(writable)} written by {_plural(len(containers), 'container')} ({running} running)")
        )
    volumes = [v for v in usage.volumes if v.size > 0]
    volume_bytes = sum(v.size for v in volumes)
    if volume_bytes:
        parts.append((volume_bytes, f"{format_size(volume_bytes)} in {_plural(len(volumes), 'volume')} (never pruned)"))
    if used is not None:
        other = used - image_bytes - cache - writable - volume_bytes
        if other > 0:
            parts.append((other, f"{format_size(other)} of files that are not Docker's"))
    return tuple(text for _, text in sorted(parts, key=lambda part: -part[0]))
