"""A disk budget's plan against the raw floor of one `df` call.

    .venv/bin/python bench/disk_budget.py [--records 200] [--images 50] [--rounds 7]

Runs on a dedicated engine whose data root is a loop-mounted ext4 filesystem (the disk engine of the
tests, tests/support/disk_engine.py: RECONCILER_ENGINE_NAME=disk<pid>, never the shared engine),
stopped and unmounted at the end. It fills that engine with --images imported images and at least
--records BuildKit cache records (builds of Dockerfiles of COPY steps, their images removed so the
records are reclaimable cache), writes two states, a budget that holds and one over its limit (met by
pruning the build cache), and times each, interleaved for --rounds rounds (medians shown):

  floor           one `GET /system/df` through the docker SDK (what any disk budget must ask)
  kind            the disk budget kind's observe and pure diff, in this process, its connection made:
                  df + statvfs, and `info` (the data root) only when the budget is exceeded
  plan, in-proc   reconcile's make_plan of the state (load excluded), in this process
  plan, process   `reconcile plan DIR`: a new process, start-up and YAML included

A measurement, not a test: exits 0 whatever the ratios, 1 only when it cannot run (needs root).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reconciler.kinds.base import RunContext  # noqa: E402
from reconciler.kinds.disk_budget.kind import DiskBudgetKind  # noqa: E402
from reconciler.model.load import load_state  # noqa: E402
from reconciler.planner import make_plan  # noqa: E402
from tests.support.disk_engine import BASE_IMAGE, DiskEngine, DiskEngineUnavailable, running_disk_engine  # noqa: E402

STEPS_PER_BUILD = 40
RECONCILE = REPO / ".venv" / "bin" / "reconcile"


def say(message: str) -> None:
    print(message, flush=True)


def import_images(engine: DiskEngine, count: int) -> None:
    for n in range(count):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            data = f"image {n}\n".encode() * 100
            info = tarfile.TarInfo(f"data/{n}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        engine.api.import_image(src=buffer.getvalue(), repository="bench-disk/image", tag=str(n))


def build_cache(engine: DiskEngine, records: int) -> int:
    """Builds of COPY steps (no container runs) until the engine holds ``records`` cache records."""
    build = 0
    while len(engine.df().get("BuildCache") or []) < records:
        context = Path(tempfile.mkdtemp(dir=engine.workdir))
        lines = [f"FROM {BASE_IMAGE}"]
        for step in range(STEPS_PER_BUILD):
            (context / f"f{step}").write_text(f"build {build} step {step}\n" * 50)
            lines.append(f"COPY f{step} /f{step}")
        (context / "Dockerfile").write_text("\n".join(lines) + "\n")
        env = {**os.environ, "DOCKER_HOST": engine.host, "DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": str(engine.workdir)}
        tag = f"bench-disk/build:{build}"
        subprocess.run(
            ["/usr/bin/docker", "build", "--network", "none", "-q", "-t", tag, str(context)],
            check=True, capture_output=True, env=env, timeout=300,
        )  # fmt: skip
        engine.api.remove_image(tag)
        build += 1
    return len(engine.df().get("BuildCache") or [])


def write_state(engine: DiskEngine, directory: Path, budget: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "disk.yaml").write_text(
        f'hosts:\n  disk: {{docker: "{engine.host}"}}\n'
        f"disk_budgets:\n  data:\n    host: disk\n    path: {engine.mount}\n    max_used_percent: {budget}\n"
        "    build_cache_max: 1GB\n"
        "    prune: [build_cache, dangling_images, {unused_images: {older_than: 30d}}, {stopped_containers: {older_than: 7d}}]\n"
    )


def reclaimable(engine: DiskEngine) -> int:
    return sum(r["Size"] for r in engine.df().get("BuildCache") or [] if not r["InUse"] and not r["Shared"])


def fill_cache(engine: DiskEngine, megabytes: int) -> None:
    """A little real weight in the cache (the COPY records are a few kB each)."""
    engine.build("bench-disk/weight:1", megabytes, keep_image=False)


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    try:
        with running_disk_engine(size_mb=600) as engine:
            return measure(engine, args.records, args.images, args.rounds)
    except DiskEngineUnavailable as why:
        print(f"bench/disk_budget: cannot run here: {why}", file=sys.stderr)
        return 1


def measure(engine: DiskEngine, records: int, images: int, rounds: int) -> int:
    say(f"disk budget benchmark: engine {engine.host}, data root on a loop-mounted ext4 at {engine.mount}")
    started = time.monotonic()
    import_images(engine, images)
    fill_cache(engine, 40)
    made = build_cache(engine, records)
    df = engine.df()
    say(
        f"engine holds {len(df['Images'])} images and {made} build cache records "
        f"(set up in {time.monotonic() - started:.1f} s); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    exceeded = math.floor(engine.used_percent() - 0.8 * reclaimable(engine) * 100 / engine.total_bytes())
    cases = {"holds": 95, "exceeded": exceeded}  # exceeded: over its limit, met by pruning the build cache
    figures: dict[str, dict[str, float]] = {}
    for case, budget in cases.items():
        directory = engine.workdir / case / "desired_state"
        write_state(engine, directory, budget)
        shown = subprocess.run([str(RECONCILE), "plan", str(directory)], capture_output=True, text=True, check=False)
        say(
            f"\nthe plan of the budget that {case} ({budget}%):\n"
            + "\n".join("    " + line for line in shown.stdout.splitlines())
        )
        figures[case] = rounds_of(engine, directory, rounds)
    say(f"\n  {'figure':<60} {'seconds':>8} {'x floor':>8}")
    for case, medians in figures.items():
        say(f"  budget that {case}:")
        floor = medians["floor"]
        for key, label in LABELS.items():
            say(f"    {label:<58} {medians[key]:8.3f} {medians[key] / floor:8.2f}")
    say(f"  load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    return 0


LABELS = {
    "floor": "floor: one df call (docker SDK)",
    "kind": "disk budget kind: observe + diff (connection made)",
    "plan in-process": "make_plan, every kind, connecting (this process)",
    "plan process": "reconcile plan DIR (new process: start-up, YAML)",
}


def rounds_of(engine: DiskEngine, directory: Path, rounds: int) -> dict[str, float]:
    """Medians of ``rounds`` interleaved rounds of each figure."""
    loaded = load_state(directory)
    spec = loaded.state.disk_budgets["data"]

    def kind_observe_and_diff() -> None:
        """With the host's connection already made (in a plan, whichever kind asks first makes it)."""
        ctx = RunContext(state=loaded.state, state_dir=directory, now=datetime.now(UTC), clients={"docker:disk": engine.api})
        kind = DiskBudgetKind(ctx)
        kind.diff("data", spec, kind.observe({"data": spec})["data"])

    def plan_in_process() -> None:
        ctx = RunContext(state=loaded.state, state_dir=directory, now=datetime.now(UTC))
        make_plan(loaded, ctx)
        ctx.close()

    def plan_process() -> None:
        subprocess.run([str(RECONCILE), "plan", str(directory)], check=False, capture_output=True)

    runs = {
        "floor": engine.api.df,
        "kind": kind_observe_and_diff,
        "plan in-process": plan_in_process,
        "plan process": plan_process,
    }
    samples: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            samples[key].append(timed(run))
    for key, values in samples.items():
        say(f"    {key:<16} " + ", ".join(f"{v:.3f}" for v in values))
    return {key: statistics.median(values) for key, values in samples.items()}


if __name__ == "__main__":
    sys.exit(main())
