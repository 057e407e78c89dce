"""Disk budgets end to end: `reconcile plan` and `apply` as a user runs them, against a second Docker
engine whose data root is a small loop-mounted ext4 filesystem (tests/support/disk_engine.py), with
real BuildKit cache, containers that write into their own layers, and a filler file that puts the
filesystem at the percentage a test needs."""

from __future__ import annotations

import math
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_reconcile
from tests.support.disk_engine import BASE_IMAGE, MANAGED_LABEL, DiskEngine, DiskEngineUnavailable, running_disk_engine

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def engine() -> Iterator[DiskEngine]:
    try:
        with running_disk_engine() as started:
            yield started
    except DiskEngineUnavailable as why:
        pytest.skip(f"no disk engine here: {why}")


@pytest.fixture
def disk(engine: DiskEngine) -> DiskEngine:
    engine.reset()
    return engine


def state(tmp_path: Path, disk: DiskEngine, max_used_percent: int, prune: list[str]) -> Path:
    directory = tmp_path / "desired_state"
    directory.mkdir(exist_ok=True)
    (directory / "disk.yaml").write_text(
        textwrap.dedent(f"""\
            hosts:
              disk: {{docker: "{disk.host}"}}
            disk_budgets:
              data:
                host: disk
                path: {disk.mount}
                max_used_percent: {max_used_percent}
                prune: [{", ".join(prune)}]
            """)
    )
    return directory


def reconcile(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_reconcile(*args, cwd=tmp_path, timeout=120)


def snapshot(disk: DiskEngine) -> dict[str, Any]:
    """What a prune could change: cache records, images, containers (ids)."""
    df = disk.df()
    return {
        "cache": sorted(r["ID"] for r in df.get("BuildCache") or []),
        "images": sorted(i["Id"] for i in df["Images"]),
        "containers": sorted(c["Id"] for c in df["Containers"]),
    }


def reclaimable_cache(disk: DiskEngine) -> int:
    return sum(r["Size"] for r in disk.df().get("BuildCache") or [] if not r["InUse"] and not r["Shared"])


def test_a_budget_met_by_pruning_real_build_cache(tmp_path: Path, disk: DiskEngine) -> None:
    disk.build("app:1", 20)
    disk.run("app:1", "app")
    disk.build("junk-a:1", 40, keep_image=False)
    disk.build("junk-b:1", 40, keep_image=False)
    stopped = disk.run(BASE_IMAGE, "old-job", write_mb=5)
    disk.stop_after_writing(stopped)
    assert reclaimable_cache(disk) >= 80_000_000
    disk.fill_to(70)
    budget = math.floor(disk.used_percent()) - 8  # about 32 MB over: the 80 MB of cache is enough
    directory = state(tmp_path, disk, budget, ["build_cache", "dangling_images", "stopped_containers"])
    before = snapshot(disk)

    planned = reconcile(tmp_path, "plan", str(directory), "--detailed-exitcode")

    assert planned.returncode == 2, planned.stderr
    assert snapshot(disk) == before, "plan pruned something"
    assert re.search(
        r'~ prune\.build_cache: "[\d.]+ MB in \d+ records" → "reclaim 80\.\d\d MB: \d+ records neither in use nor shared"',
        planned.stdout,
    ), planned.stdout
    assert "prune.stopped_containers" not in planned.stdout  # the budget holds after the cache
    assert re.search(rf'~ used_percent: "[\d.]+%" → "[\d.]+% \(budget {budget}%\)"', planned.stdout), planned.stdout

    applied = reconcile(tmp_path, "apply", str(directory), "--auto-approve")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert re.search(r"build_cache: (7\d|8\d)\.\d\d MB freed \(\d+ cache records\)", applied.stdout), applied.stdout
    assert disk.used_percent() <= budget
    after = snapshot(disk)
    assert reclaimable_cache(disk) == 0
    assert after["images"] == before["images"] and after["containers"] == before["containers"]
    again = reconcile(tmp_path, "plan", str(directory), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_budget_blocked_because_everything_left_is_in_use(tmp_path: Path, disk: DiskEngine) -> None:
    disk.build("app:1", 30)
    disk.run("app:1", "app")
    disk.run(BASE_IMAGE, "sidecar")
    kept = disk.run(BASE_IMAGE, "managed-job", labels=MANAGED_LABEL, write_mb=10)
    disk.stop_after_writing(kept)
    disk.fill_to(90)
    directory = state(tmp_path, disk, 50, ["build_cache", "dangling_images", "unused_images", "stopped_containers"])
    before = snapshot(disk)

    planned = reconcile(tmp_path, "plan", str(directory), "--detailed-exitcode")

    assert planned.returncode == 2, planned.stderr
    assert "~ disk_budget.data" in planned.stdout
    blocked = re.search(r"! blocked: (.*)\n\s+remedy: (.*)\n", planned.stdout)
    assert blocked, planned.stdout
    assert re.fullmatch(
        rf"{re.escape(str(disk.mount))} is at 9\d\.\d% of [\d.]+ MB, over its 50% budget: [\d.]+ MB must be freed, "
        r"and the allowed prune steps \(build_cache, dangling_images, unused_images, stopped_containers\) reclaim \d+ B, to 9\d\.\d%; "
        r"what takes the space: [\d.]+ MB of files that are not Docker's; [\d.]+ MB in 2 images, all in use; "
        r"10\.\d\d MB written by 3 containers \(2 running\)",
        blocked.group(1),
    ), blocked.group(1)
    assert blocked.group(2).endswith("or raise max_used_percent")
    assert snapshot(disk) == before, "plan pruned something"
    applied = reconcile(tmp_path, "apply", str(directory), "--auto-approve")
    assert applied.returncode == 1
    assert "blocked" in applied.stdout
    assert snapshot(disk) == before, "a blocked budget pruned something"


def test_stopped_containers_are_pruned_but_never_a_managed_one(tmp_path: Path, disk: DiskEngine) -> None:
    unmanaged = disk.run(BASE_IMAGE, "finished-job", write_mb=40)
    managed = disk.run(BASE_IMAGE, "managed-job", labels=MANAGED_LABEL, write_mb=40)
    for container in (unmanaged, managed):
        disk.stop_after_writing(container)
    disk.fill_to(60)
    budget = math.floor(disk.used_percent()) - 5  # about 20 MB over: the unmanaged container's 40 MB is enough
    directory = state(tmp_path, disk, budget, ["build_cache", "stopped_containers"])

    planned = reconcile(tmp_path, "plan", str(directory))
    assert '"reclaim 40.00 MB: 1 unmanaged container (1 managed one kept)"' in planned.stdout, planned.stdout
    applied = reconcile(tmp_path, "apply", str(directory), "--auto-approve")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "stopped_containers: " in applied.stdout and "(1 containers)" in applied.stdout
    remaining = {c["Id"] for c in disk.api.containers(all=True)}
    assert managed in remaining and unmanaged not in remaining
    assert disk.used_percent() <= budget
