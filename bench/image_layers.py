#!/usr/bin/env python3
"""How fast reconciler.clients.image_layers.read_image reads an image, against the floor: streaming
the same export (`client.get_image`) to /dev/null, in the same run, runs interleaved.

    .venv/bin/python bench/image_layers.py [--runs N] [--rebuild] [--remove]

Images: reconciler-demo/frontend:1 (scripts/demo-images) and reconciler-bench/image-layers-big:1, built
here once (kept for the next run; --rebuild makes it again, --remove deletes it at the end) and loaded
through the Engine API as tests/kinds/test_image_layers.py builds its images: a busybox-style base, a
200 MB file of random bytes, three 10 MB ones and a whiteout, 2,000 small files, an opaque directory.

Targets (issue 5): a first read (no cache) at most 1.2 × the floor; a cached read at most 5 ms.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import docker  # noqa: E402

from reconciler.clients.image_layers import read_image  # noqa: E402
from tests.kinds.test_image_layers import LayerEntry, Recipe, build_image, busybox_base, directory, file, opaque, whiteout  # noqa: E402
from tests.support.docker_engine import ensure_engine, ensure_images  # noqa: E402

FRONTEND = "reconciler-demo/frontend:1"
BIG = "reconciler-bench/image-layers-big:1"
RECIPE_LABEL = "reconciler.bench.recipe"
RECIPE_VERSION = "1"
MB = 1_000_000
FIRST_READ_TARGET = 1.2
CACHED_TARGET_MS = 5.0


def big_recipe() -> Recipe:
    small: list[LayerEntry] = [file(f"usr/share/doc/pkg{n // 20}/file{n}", b"x" * (n % 700)) for n in range(2000)]
    return Recipe(
        name=BIG,
        layers=[
            busybox_base(),
            [file("opt/big/random.bin", 200 * MB)],
            [file(f"opt/data/part{n}.bin", 10 * MB) for n in range(3)] + [whiteout("var/old")],
            small,
            [directory("opt/data"), opaque("opt/data"), file("opt/data/fresh.bin", 5 * MB, 0o755)],
        ],
        env=["PATH=/usr/local/bin:/usr/bin:/sbin:/bin"],
        labels={RECIPE_LABEL: RECIPE_VERSION},
    )


def ensure_big_image(api: docker.APIClient, rebuild: bool) -> None:
    try:
        labels = api.inspect_image(BIG)["Config"].get("Labels") or {}
        if labels.get(RECIPE_LABEL) == RECIPE_VERSION and not rebuild:
            return
        api.remove_image(BIG)
    except docker.errors.NotFound:
        pass
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-image-layers-") as workdir:
        build_image(api, big_recipe(), Path(workdir))
    print(f"built {BIG} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def export_to_devnull(api: docker.APIClient, image_id: str) -> int:
    size = 0
    with open(os.devnull, "wb") as sink:
        for chunk in api.get_image(image_id):
            sink.write(chunk)
            size += len(chunk)
    return size


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU: what the reading itself costs

    def run(self, action: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)


@dataclass
class Measure:
    reference: str
    export_mb: float
    paths: int
    floor: Timing
    first: Timing
    cached: Timing


def measure(api: docker.APIClient, reference: str, runs: int, scratch: Path) -> Measure:
    """Floor and first read alternate, so that both see the same engine and machine load."""
    image_id = api.inspect_image(reference)["Id"]
    size = export_to_devnull(api, image_id)  # warms the engine's page cache for both
    floor, first, cached = Timing(), Timing(), Timing()
    fresh_caches = [scratch / f"{reference.replace('/', '_')}-{run}" for run in range(runs)]
    for cache in fresh_caches:
        floor.run(lambda: export_to_devnull(api, image_id))
        first.run(functools.partial(read_image, api, reference, cache))
    files = read_image(api, reference, scratch / "warm")
    assert files is not None
    for _ in range(max(runs, 50)):
        cached.run(lambda: read_image(api, reference, scratch / "warm"))
    return Measure(reference, size / MB, len(files.files), floor, first, cached)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def report(m: Measure) -> bool:
    median, least = statistics.median, min
    ratio = median(m.first.wall) / median(m.floor.wall)
    best_ratio = least(m.first.wall) / least(m.floor.wall)
    cached_ms = median(m.cached.wall) * 1000
    ok = ratio <= FIRST_READ_TARGET and cached_ms <= CACHED_TARGET_MS
    print(f"{m.reference}: export {m.export_mb:.1f} MB, {m.paths} paths, {len(m.floor.wall)} runs")
    print("                               wall median      wall min    CPU median (this process)")
    for label, timing in (("floor: export → /dev/null", m.floor), ("first read (no cache)", m.first)):
        print(f"  {label:27}{ms(median(timing.wall))}   {ms(least(timing.wall))}   {ms(median(timing.cpu))}")
    cached = (median(m.cached.wall), least(m.cached.wall), median(m.cached.cpu))
    print(f"  {'cached read':27}" + "   ".join(f"{seconds * 1000:8.2f} ms" for seconds in cached))
    print(f"  first / floor: {ratio:.2f}× on medians, {best_ratio:.2f}× on minimums (target ≤ {FIRST_READ_TARGET}×)")
    print(f"  cached read: {cached_ms:.2f} ms median, {max(m.cached.wall) * 1000:.2f} ms max (target ≤ {CACHED_TARGET_MS} ms)")
    print(f"  {'ok' if ok else 'MISSED'}", flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs of the floor and of a first read, each (default 9)")
    parser.add_argument("--rebuild", action="store_true", help=f"build {BIG} even when it is there")
    parser.add_argument("--remove", action="store_true", help=f"delete {BIG} at the end")
    args = parser.parse_args()

    os.environ["DOCKER_HOST"] = ensure_engine()
    ensure_images()
    api = docker.APIClient(base_url=os.environ["DOCKER_HOST"], version="auto", timeout=300)
    try:
        ensure_big_image(api, args.rebuild)
        with tempfile.TemporaryDirectory(prefix="bench-image-layers-") as scratch:
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
            results = [report(measure(api, reference, args.runs, Path(scratch))) for reference in (FRONTEND, BIG)]
        if args.remove:
            api.remove_image(BIG)
    finally:
        api.close()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
