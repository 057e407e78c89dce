"""The disk budget diff, pure: a budget + an observation written as literals (the field report's VPS:
150 GB at 91 %, 13.59 GB of build cache, 32 images all in use) → the action a user reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.clients.disk import CacheRecord, ContainerUsage, EngineUsage, Filesystem, ImageUsage, VolumeUsage
from reconciler.kinds.base import Observation, RunContext
from reconciler.kinds.disk_budget.kind import DiskBudgetKind, SeenDisk, observation
from reconciler.kinds.disk_budget.reclaim import format_percent, format_size
from reconciler.model.spec import DiskBudget, State
from reconciler.plan.schema import Action
from reconciler.render.text import action_lines

NOW = datetime(2026, 1, 1, 21, 0, tzinfo=UTC)
GB, MB = 1_000_000_000, 1_000_000
STATE = State.model_validate(
    {
        "hosts": {"vps": {}},
        "containers": {
            "redis": {"host": "vps", "image": "redis:7"},
            "web": {"host": "vps", "image": "nginx:1"},
        },
    }
)
KIND = DiskBudgetKind(RunContext(state=STATE, state_dir=Path("."), now=NOW))


def budget(**changes: Any) -> DiskBudget:
    spec: dict[str, Any] = {
        "host": "vps",
        "path": "/",
        "max_used_percent": 85,
        "build_cache_max": "1GB",
        "prune": [
            "build_cache",
            "dangling_images",
            {"unused_images": {"older_than": "30d"}},
            {"stopped_containers": {"older_than": "7d"}},
        ],
    }
    return DiskBudget.model_validate({**spec, **changes})


def cache(n: int, size: int, *, in_use: bool = False, shared: bool = False, days_ago: int = 1) -> CacheRecord:
    moment = NOW - timedelta(days=days_ago)
    return CacheRecord(f"cache{n}", "regular", f"RUN step {n}", size, in_use, shared, moment, moment)


def image(n: int, size: int, *, tags: tuple[str, ...] = ("app:1",), days_ago: int = 60, shared: int = 0) -> ImageUsage:
    return ImageUsage(f"sha256:image{n}", tags, NOW - timedelta(days=days_ago), size, shared)


def container(
    n: int, image_n: int, *, state: str = "running", managed: bool = True, days_ago: int = 60, size: int = 0
) -> ContainerUsage:
    return ContainerUsage(f"c{n}", f"c{n}", f"sha256:image{image_n}", state, NOW - timedelta(days=days_ago), size, managed)


def engine(
    images: tuple[ImageUsage, ...] = (),
    records: tuple[CacheRecord, ...] = (),
    containers: tuple[ContainerUsage, ...] = (),
    volumes: tuple[VolumeUsage, ...] = (),
) -> EngineUsage:
    return EngineUsage("/var/lib/docker", sum(i.unique_size for i in images), images, records, containers, volumes)


def vps(used: int, usage: EngineUsage, *, same: bool | None = True, available: int | None = None) -> SeenDisk:
    usable = 143 * GB  # 150 GB less what ext4 keeps for root, as df counts it
    return SeenDisk("vps", NOW, Filesystem("/", used, usable - used if available is None else available, 2049), usage, same)


def the_vps_as_reported() -> EngineUsage:
    """32 images (119.8 GB, all in use by a running container), 173 build cache records of which 8
    (44.91 MB) are in use, 9 volumes (224.8 MB)."""
    images = tuple(image(n, 119_800 * MB // 32) for n in range(32))
    records = (
        *(cache(n, 13_545_090 * 1000 // 165) for n in range(165)),
        *(cache(165 + n, 5_613_750, in_use=True) for n in range(8)),
    )
    containers = tuple(container(n, n) for n in range(32))
    volumes = tuple(VolumeUsage(f"v{n}", 224_800_000 // 9, 1) for n in range(9))
    return engine(images, records, containers, volumes)


def diff(spec: DiskBudget | None, seen: SeenDisk | None) -> Action:
    observed = observation(spec, seen) if spec is not None and seen is not None else None
    return KIND.diff("vps-root", spec, observed)


def shown(action: Action) -> str:
    return action_lines(action).plain


def test_the_field_report_is_met_by_pruning_build_cache_alone() -> None:
    action = diff(budget(), vps(130 * GB, the_vps_as_reported()))
    assert action.action == "update" and action.blocked is None
    assert shown(action) == (
        "  # disk_budget.vps-root will be updated in place (/ at 91.0% is over its 85% budget by 8.45 GB; "
        "build cache 13.59 GB is over build_cache_max 1.00 GB)\n"
        "  ~ disk_budget.vps-root\n"
        '      ~ prune.build_cache: "13.59 GB in 173 records" → "reclaim 13.55 GB: 165 records neither in use nor shared"\n'
        '      ~ used_percent: "91.0%" → "81.5% (budget 85%)"\n'
    )


def test_the_steps_stop_at_the_one_after_which_the_budget_holds() -> None:
    """Build cache is not enough; dangling images make it hold; unused images are not touched."""
    usage = engine(
        images=(image(1, 50 * GB), image(2, 6 * GB, tags=()), image(3, 30 * GB, tags=("old:1",), days_ago=90)),
        records=(cache(1, 2 * GB),),
        containers=(container(1, 1),),
    )
    action = diff(budget(build_cache_max=None), vps(126 * GB, usage))
    assert [c.path for c in action.changes] == ["prune.build_cache", "prune.dangling_images", "used_percent"]
    assert action.changes[1].after == "reclaim 6.00 GB: 1 dangling image no container uses"
    assert action.changes[-1].after == "82.6% (budget 85%)"
    assert action.blocked is None


def test_a_budget_pruning_cannot_meet_is_blocked_with_the_numbers() -> None:
    """After the cache prune the VPS sits at 81.5 %: a 75 % budget cannot hold, every image is in use."""
    action = diff(budget(max_used_percent=75), vps(130 * GB, the_vps_as_reported()))
    assert action.action == "update"
    assert action.blocked is not None
    assert action.blocked.reason == (
        "/ is at 91.0% of 143.00 GB, over its 75% budget: 22.75 GB must be freed, and the allowed prune steps "
        "(build_cache, dangling_images, unused_images, stopped_containers) reclaim 13.55 GB, to 81.5%; what takes the "
        "space: 119.80 GB in 32 images, all in use; 224.80 MB in 9 volumes (never pruned); 44.91 MB of build cache in 8 records"
    )
    assert action.blocked.remedy.endswith(
        "or remove images and containers no longer needed, grow the filesystem, or raise max_used_percent"
    )
    assert "! blocked: / is at 91.0%" in shown(action)


def test_blocked_names_what_more_could_be_allowed() -> None:
    usage = engine(images=(image(1, 20 * GB, days_ago=3), image(2, 100 * GB)), containers=(container(1, 2),))
    action = diff(budget(prune=[{"unused_images": {"older_than": "30d"}}], build_cache_max=None), vps(130 * GB, usage))
    assert action.blocked is not None
    assert action.blocked.remedy.startswith("unused_images without older_than 30d would reclaim 20.00 GB more; ")
    action = diff(budget(prune=["dangling_images"], build_cache_max=None), vps(130 * GB, usage))
    assert action.blocked is not None
    assert action.blocked.remedy.startswith("allow unused_images in prune (it would reclaim 20.00 GB); ")


def test_an_image_any_container_uses_is_never_counted_running_or_not() -> None:
    usage = engine(
        images=(image(1, 10 * GB), image(2, 10 * GB), image(3, 10 * GB)),
        containers=(container(1, 1), container(2, 2, state="exited", managed=False, days_ago=1)),
    )
    action = diff(budget(prune=["unused_images"], build_cache_max=None), vps(125 * GB, usage))
    assert action.changes[0].after == "reclaim 10.00 GB: 1 image no container uses"


def test_pruning_stopped_containers_first_frees_their_images_for_a_later_step() -> None:
    usage = engine(
        images=(image(1, 10 * GB), image(2, 10 * GB)),
        containers=(container(1, 1), container(2, 2, state="exited", managed=False, days_ago=10, size=MB)),
    )
    action = diff(budget(prune=["stopped_containers", "unused_images"], build_cache_max=None), vps(130 * GB, usage))
    assert [(c.path, c.after) for c in action.changes[:2]] == [
        ("prune.stopped_containers", "reclaim 1.00 MB: 1 unmanaged container"),
        ("prune.unused_images", "reclaim 10.00 GB: 1 image no container uses"),
    ]


def test_a_managed_stopped_container_is_never_pruned() -> None:
    usage = engine(
        images=(image(1, 1 * GB),),
        containers=(
            container(1, 1, state="exited", managed=True, days_ago=30, size=5 * GB),
            container(2, 1, state="exited", managed=False, days_ago=30, size=2 * GB),
        ),
    )
    action = diff(budget(prune=[{"stopped_containers": {"older_than": "7d"}}], build_cache_max=None), vps(123 * GB, usage))
    assert action.changes[0].before == "7.00 GB in 2 stopped containers"
    assert action.changes[0].after == "reclaim 2.00 GB: 1 unmanaged container, created over 7d ago (1 managed one kept)"


def test_older_than_filters_by_the_engine_s_own_times() -> None:
    usage = engine(
        images=(image(1, 5 * GB, days_ago=10), image(2, 5 * GB, days_ago=40)),
        records=(cache(1, 3 * GB, days_ago=2), cache(2, 4 * GB, days_ago=9)),
    )
    action = diff(
        budget(prune=[{"build_cache": {"older_than": "7d"}}, {"unused_images": {"older_than": "30d"}}], build_cache_max=None),
        vps(130 * GB, usage),
    )
    assert [c.after for c in action.changes[:2]] == [
        "reclaim 4.00 GB: 1 record neither in use nor shared, unused for 7d",
        "reclaim 5.00 GB: 1 image no container uses, created over 30d ago",
    ]


def test_cache_in_use_or_shared_with_an_image_is_not_reclaimable() -> None:
    usage = engine(records=(cache(1, 3 * GB, in_use=True), cache(2, 4 * GB, shared=True), cache(3, 1 * GB)))
    action = diff(budget(prune=["build_cache"], build_cache_max=None), vps(123 * GB, usage))
    assert action.changes[0].after == "reclaim 1.00 GB: 1 record neither in use nor shared"


def test_build_cache_over_its_cap_is_trimmed_even_when_the_disk_is_fine() -> None:
    usage = engine(records=(cache(1, 2 * GB, days_ago=5), cache(2, 1_500 * MB, days_ago=1)))
    action = diff(budget(), vps(50 * GB, usage))
    assert shown(action) == (
        "  # disk_budget.vps-root will be updated in place (build cache 3.50 GB is over build_cache_max 1.00 GB)\n"
        "  ~ disk_budget.vps-root\n"
        '      ~ prune.build_cache: "3.50 GB in 2 records" → "reclaim 2.50 GB: down to build_cache_max 1.00 GB (keep-storage)"\n'
    )


def test_a_budget_that_holds_with_a_small_cache_is_a_noop_and_a_removed_budget_deletes_nothing() -> None:
    usage = engine(images=(image(1, GB),), records=(cache(1, 10 * MB),), containers=(container(1, 1),))
    assert diff(budget(), vps(100 * GB, usage)).action == "noop"
    assert diff(None, vps(130 * GB, usage)).action == "noop"


def test_pruning_docker_cannot_help_a_filesystem_it_does_not_live_on() -> None:
    seen = vps(130 * GB, the_vps_as_reported(), same=False)
    action = diff(budget(build_cache_max=None), seen)
    assert action.blocked is not None
    assert "keeps its data in /var/lib/docker, on another filesystem: pruning frees nothing on /" in action.blocked.reason
    assert action.changes[0].path == "used_percent"


def test_a_filesystem_that_cannot_be_read_is_blocked_not_a_crash() -> None:
    seen = SeenDisk("vps", NOW, None, engine(), None, "the filesystem of / on ssh://vps cannot be read yet")
    action = KIND.diff("vps-root", budget(), Observation("sha256:x", seen))
    assert action.action == "update"
    assert action.blocked is not None and action.blocked.reason == "the filesystem of / on ssh://vps cannot be read yet"


def test_it_runs_after_the_containers_of_its_host() -> None:
    assert diff(budget(), vps(100 * GB, engine())).depends_on == ["container.redis", "container.web"]


def test_the_digest_moves_when_what_a_step_would_remove_changes() -> None:
    spec = budget(build_cache_max=None, prune=["dangling_images"])
    before = observation(spec, vps(130 * GB, engine(images=(image(1, 10 * GB, tags=()),))))
    after = observation(spec, vps(130 * GB, engine(images=(image(1, 10 * GB, tags=()), image(2, 1 * GB, tags=())))))
    a_few_bytes_later = observation(spec, vps(130 * GB + 4096, engine(images=(image(1, 10 * GB, tags=()),))))
    assert before.digest != after.digest
    assert before.digest == a_few_bytes_later.digest


def test_sizes_and_percentages_read_like_docker_system_df() -> None:
    assert [format_size(n) for n in (0, 999, 44_910_000, 13_590_000_000)] == ["0 B", "999 B", "44.91 MB", "13.59 GB"]
    assert [format_percent(p, 10_000) for p in (8_400, 8_401, 8_500, 0)] == ["84.0%", "84.1%", "85.0%", "0.0%"]
