"""A no-op plan across many Docker hosts: it should grow with the containers, and stay flat with
the number of hosts they are spread over (hosts are observed in parallel).

    bench/run --hosts [--layouts 1x1000 10x100 50x20 50x4 50x10] [--engines N] [--rounds 3]
                      [--engine-prefix benchh] [--keep-engines]

Hosts are separate Docker engines on this machine (`RECONCILER_ENGINE_NAME=<prefix>NN
scripts/docker-engine`: each its own dockerd, socket and data root), so each host entry of the
state lists only its own containers, as a real host would. By default every layout gets engines
of its own (as many engines as the layouts have hosts together), all layouts are applied first, and
each round then measures every layout in turn: the load of a shared machine drifts over minutes,
and it weighs on each layout alike. With fewer engines (--engines), layouts that do not fit beside
each other are measured one group after the other, and a layout with more hosts than engines has
host entries share engines round-robin (the code supports it: containers carry reconciler.host);
each entry then lists every container of its engine, so those figures are not honest.

A layout HxC is H hosts with C containers each: a state of H*C containers (`state: stopped`:
created, never started, so no process runs and only the engines' records are read), `reconcile
apply` from none (not timed); then --rounds rounds of the floor and a no-op plan of each layout:

  floor       a new python process: import the docker SDK, then for every engine at once (a thread
              each) connect (version="auto"), list and inspect its containers, 10 threads an engine,
              and make the other calls a plan cannot do without on each host: list its networks,
              inspect the image, ask /info (see FLOOR_CALLS).
  no-op plan  `reconcile plan DIR`, timed as bench/run times it (wall; excluding start-up).

Both are also timed in CPU seconds, the process's and the engines' (dockerd and the processes it
waits for, from /proc): here every engine shares the 2 CPUs with reconcile, so engine work that
grows with hosts lands in reconcile's wall time, as it would not on a fleet.

Verdicts: "flat with hosts" — among layouts with the same number of containers, the slowest plan is
at most 1.3x the fastest; "grows with containers" is shown as seconds per 100 containers.
A measurement: exit 0 even when a target is missed; 1 only when it cannot run. Every container
carries the label reconcile-bench and is removed after each group, on error and on Ctrl-C;
engines this run started are stopped at the end (--keep-engines leaves them up).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import docker
from timing import PYTHON, REPO, BenchFailed, Timed, children_cpu, compile_package, git_revision, reconcile, say

IMAGE = "reconciler-test/busybox:1"
BENCH_LABEL = "reconcile-bench"
FLAT = 1.3
T = TypeVar("T")

FLOOR = """
import sys
from concurrent.futures import ThreadPoolExecutor
import docker

def engine(url):
    api = docker.APIClient(base_url=url, version="auto", max_pool_size=12)
    with ThreadPoolExecutor(10) as pool:
        ids = [c["Id"] for c in api.containers(all=True)]
        inspected = list(pool.map(api.inspect_container, ids))
        for call in (api.networks, api.info, lambda: api.inspect_image(IMAGE)):
            call()
        return len(inspected)

urls = sys.argv[1:]
with ThreadPoolExecutor(len(urls)) as pool:
    print(sum(pool.map(engine, urls)))
""".replace("IMAGE", repr(IMAGE))
FLOOR_CALLS = """Per engine, what a no-op plan cannot do without: connect (the SDK's version="auto"), list the
containers and inspect them, list the networks (a network no longer declared is found that way),
inspect the image the containers run (its defaults are part of the comparison) and ask /info (the
engine's default log driver, which a container that declares no logging is compared with)."""


def engine_url(prefix: str, index: int) -> str:
    return f"unix:///run/reconciler-{prefix}{index:02d}-docker.sock"


def answers(url: str) -> bool:
    try:
        with docker.APIClient(base_url=url, timeout=5) as api:
            api.ping()
    except Exception:  # any failure means "not up"
        return False
    return True


def start_engine(prefix: str, index: int) -> bool:
    """Starts (or finds) engine ``index`` and builds the test image in it; True if this run started it."""
    url = engine_url(prefix, index)
    was_up = answers(url)
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    out = subprocess.run(
        [str(REPO / "scripts" / "docker-engine")], env={**env, "RECONCILER_ENGINE_NAME": f"{prefix}{index:02d}"},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True,
    ).stdout  # fmt: skip
    if out.strip().splitlines()[-1] != f"DOCKER_HOST={url}":
        raise BenchFailed(f"scripts/docker-engine answered {out.strip()!r}, not {url}")
    subprocess.run(
        [str(PYTHON), str(REPO / "scripts" / "demo-images"), IMAGE], env={**env, "DOCKER_HOST": url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    return not was_up


def stop_engine(prefix: str, index: int) -> None:
    """SIGTERM to the dockerd of engine ``index`` (by its pidfile, checked to be that dockerd)."""
    pidfile = Path(f"/run/reconciler-{prefix}{index:02d}-docker.pid")
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return
    if "dockerd" in cmdline and engine_url(prefix, index) in cmdline:
        os.kill(pid, signal.SIGTERM)


def engine_pids(prefix: str, count: int) -> list[int]:
    pids = []
    for index in range(count):
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(Path(f"/run/reconciler-{prefix}{index:02d}-docker.pid").read_text().strip()))
    return pids


def engines_cpu(pids: list[int]) -> float:
    """CPU seconds the engines (dockerd and the processes it ran and waited for) have used so far."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def remove_containers(urls: list[str]) -> int:
    def one(url: str) -> int:
        with docker.APIClient(base_url=url, version="auto", timeout=300) as api:
            ids = [c["Id"] for c in api.containers(all=True, filters={"label": BENCH_LABEL})]
            for container_id in ids:
                with contextlib.suppress(docker.errors.NotFound):
                    api.remove_container(container_id, force=True)
            return len(ids)

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(one, urls))


@dataclass(frozen=True)
class Layout:
    hosts: int
    per_host: int

    @property
    def containers(self) -> int:
        return self.hosts * self.per_host

    def __str__(self) -> str:
        return f"{self.hosts}x{self.per_host}"


def parse_layout(text: str) -> Layout:
    hosts, _, per_host = text.partition("x")
    if not (hosts.isdigit() and per_host.isdigit() and int(hosts) > 0 and int(per_host) > 0):
        raise argparse.ArgumentTypeError(f"a layout is HOSTSxCONTAINERS, like 50x20, not {text!r}")
    return Layout(int(hosts), int(per_host))


def write_state(directory: Path, layout: Layout, urls: list[str]) -> None:
    lines = ["hosts:"]
    lines += [f"  h{h:02d}: {{docker: '{urls[h % len(urls)]}'}}" for h in range(layout.hosts)]
    lines.append("containers:")
    for h in range(layout.hosts):
        for c in range(layout.per_host):
            lines += [
                f"  c{h:02d}-{c:04d}:",
                f"    host: h{h:02d}",
                f"    image: {IMAGE}",
                '    command: ["sleep", "86400"]',
                "    network_mode: none",
                "    state: stopped",
                f"    labels: {{{BENCH_LABEL}: hosts}}",
            ]
    (directory / "state.yaml").write_text("\n".join(lines) + "\n")


def floor(urls: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, containers seen) of the floor process."""
    started, cpu = time.monotonic(), children_cpu()
    done = subprocess.run([str(PYTHON), "-c", FLOOR, *urls], capture_output=True, text=True, check=True)
    return time.monotonic() - started, children_cpu() - cpu, int(done.stdout.strip())


def engines_busy(pids: list[int], run: Callable[[], T]) -> tuple[T, float]:
    """What ``run`` returns, and the engines' CPU seconds meanwhile: on one machine the engines'
    work shares the CPUs with reconcile and is in its wall time, as it is not on a real fleet."""
    before = engines_cpu(pids)
    done = run()
    return done, engines_cpu(pids) - before


@dataclass
class Figures:
    layout: Layout
    engines: int
    floor: list[float]
    floor_cpu: list[float]
    plans: list[Timed]
    floor_engines: list[float]
    plan_engines: list[float]

    @property
    def cpu(self) -> float:
        return statistics.median(t.cpu for t in self.plans)

    @property
    def plan(self) -> float:
        return statistics.median(t.wall for t in self.plans)

    @property
    def work(self) -> float:
        return statistics.median(t.work for t in self.plans)

    @property
    def floor_s(self) -> float:
        return statistics.median(self.floor)

    @property
    def floor_engines_s(self) -> float:
        return statistics.median(self.floor_engines)

    @property
    def plan_engines_s(self) -> float:
        return statistics.median(self.plan_engines)


@dataclass
class Placed:
    """A layout applied on its engines, and what its rounds measured."""

    layout: Layout
    urls: list[str]
    pids: list[int]
    state: Path
    figures: Figures


def batches(layouts: list[Layout], engines: int) -> list[list[tuple[Layout, int]]]:
    """Layouts grouped so that each group's layouts sit on engines of their own (a layout, with the
    index of its first engine): a group's rounds then alternate between its layouts, so a machine
    whose load drifts over minutes weighs on each alike. A layout with more hosts than engines is a
    group alone, its host entries sharing engines round-robin."""
    groups: list[list[tuple[Layout, int]]] = []
    used = engines  # engines taken in the last group
    for layout in layouts:
        if not groups or used + layout.hosts > engines:
            groups.append([])
            used = 0
        groups[-1].append((layout, used))
        used += layout.hosts
    return groups


def place(layout: Layout, first: int, all_urls: list[str], all_pids: list[int], work: Path) -> Placed:
    count = min(layout.hosts, len(all_urls))
    urls, pids = all_urls[first : first + count], all_pids[first : first + count]
    state = work / f"state-{layout}"
    state.mkdir()
    write_state(state, layout, urls)
    say(f"{layout}: apply (creating {layout.containers} containers on {len(urls)} engines; not timed)")
    reconcile("apply", str(state), "--auto-approve", cwd=work, expect=f"Apply complete: {layout.containers} done.")
    return Placed(layout, urls, pids, state, Figures(layout, len(urls), [], [], [], [], []))


def measure_round(placed: Placed, work: Path) -> None:
    f = placed.figures
    (seconds, cpu, seen), engines = engines_busy(placed.pids, lambda: floor(placed.urls))
    if seen != placed.layout.containers:
        raise BenchFailed(f"the floor saw {seen} containers, expected {placed.layout.containers}")
    f.floor.append(seconds)
    f.floor_cpu.append(cpu)
    f.floor_engines.append(engines)
    timed, engines = engines_busy(placed.pids, lambda: reconcile("plan", str(placed.state), cwd=work, expect="No changes."))
    f.plans.append(timed)
    f.plan_engines.append(engines)


def measure(group: list[tuple[Layout, int]], all_urls: list[str], all_pids: list[int], rounds: int, work: Path) -> list[Figures]:
    placed = [place(layout, first, all_urls, all_pids, work) for layout, first in group]
    for r in range(rounds):
        for one in placed:
            say(f"{one.layout}: round {r + 1} of {rounds}")
            measure_round(one, work)
    say(f"removed {remove_containers(sorted({url for one in placed for url in one.urls}))} containers")
    return [one.figures for one in placed]


def report(figures: list[Figures]) -> list[str]:
    print()
    print(f"  {'layout':<10} {'hosts':>5} {'engines':>7} {'containers':>10} {'floor s':>8} {'plan s':>8} {'x floor':>8} "
          f"{'excl. start-up':>14} {'plan CPU s':>10} {'x floor CPU':>11} {'CPU s / 100':>11} "
          f"{'engines CPU s: floor':>20} {'plan':>6}")  # fmt: skip
    for f in figures:
        per_100, floor_cpu = 100 * f.cpu / f.layout.containers, statistics.median(f.floor_cpu)
        print(f"  {f.layout!s:<10} {f.layout.hosts:>5} {f.engines:>7} {f.layout.containers:>10} {f.floor_s:>8.3f} "
              f"{f.plan:>8.3f} {f.plan / f.floor_s:>8.2f} {f.work:>14.3f} {f.cpu:>10.3f} {f.cpu / floor_cpu:>11.2f} "
              f"{per_100:>11.3f} {f.floor_engines_s:>20.3f} {f.plan_engines_s:>6.3f}")  # fmt: skip
    print()
    for f in figures:
        walls, works = ", ".join(f"{t.wall:.3f}" for t in f.plans), ", ".join(f"{t.work:.3f}" for t in f.plans)
        cpus, floor_cpus = ", ".join(f"{t.cpu:.3f}" for t in f.plans), ", ".join(f"{s:.3f}" for s in f.floor_cpu)
        busy_floor, busy_plan = ", ".join(f"{s:.2f}" for s in f.floor_engines), ", ".join(f"{s:.2f}" for s in f.plan_engines)
        print(f"  {f.layout}: floor {', '.join(f'{s:.3f}' for s in f.floor)} (CPU {floor_cpus}); plan wall {walls}; "
              f"excl. start-up {works}; CPU {cpus}; engines' CPU in the floor {busy_floor}, the plan {busy_plan}")  # fmt: skip
    missed: list[str] = []
    by_total: dict[int, list[Figures]] = defaultdict(list)
    for f in figures:
        by_total[f.layout.containers].append(f)
    print()
    for total, same in sorted(by_total.items()):
        if len(same) < 2:
            continue
        fastest, slowest = min(same, key=lambda f: f.plan), max(same, key=lambda f: f.plan)
        ratio = slowest.plan / fastest.plan
        mark = "met" if ratio <= FLAT else "MISSED"
        print(f"  flat with hosts, {total} containers: slowest plan ({slowest.layout}) {slowest.plan:.3f} s = {ratio:.2f} x "
              f"fastest ({fastest.layout}) {fastest.plan:.3f} s (target <= {FLAT} x) {mark}")  # fmt: skip
        low, high = min(same, key=lambda f: f.cpu), max(same, key=lambda f: f.cpu)
        share = high.cpu / low.cpu
        print(f"    in CPU seconds: most ({high.layout}) {high.cpu:.3f} s = {share:.2f} x least ({low.layout}) {low.cpu:.3f} s")
        low, high = min(same, key=lambda f: f.plan_engines_s), max(same, key=lambda f: f.plan_engines_s)
        print(f"    the engines' CPU seconds during the plan (here on the same CPUs; on a fleet, each on its host): "
              f"{low.layout} {low.plan_engines_s:.3f} s, {high.layout} {high.plan_engines_s:.3f} s")  # fmt: skip
        if mark == "MISSED":
            missed.append(f"flat with hosts at {total} containers: {ratio:.2f} x")
    by_hosts: dict[int, list[Figures]] = defaultdict(list)
    for f in figures:
        by_hosts[f.layout.hosts].append(f)
    for hosts, same in sorted(by_hosts.items()):
        if len(same) >= 2:
            ordered = sorted(same, key=lambda f: f.layout.containers)
            growth = ", ".join(f"{f.layout.containers}: {f.plan:.3f} s wall, {f.cpu:.3f} s CPU" for f in ordered)
            print(f"  grows with containers, {hosts} hosts: {growth}")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f} (2 CPUs: above 2, other work shares them)")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--layouts",
        type=parse_layout,
        nargs="+",
        default=[parse_layout(t) for t in ("1x1000", "10x100", "50x20", "50x4", "50x10")],
    )
    parser.add_argument(
        "--engines", type=int, default=0, help="engines to start (default: as many as the layouts have hosts together)"
    )
    parser.add_argument(
        "--engine-prefix", default="benchh", help="engines are RECONCILER_ENGINE_NAME=<prefix>NN (default benchh)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep-engines", action="store_true", help="leave the engines running at the end")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    engines = args.engines or sum(layout.hosts for layout in args.layouts)
    say(f"starting (or finding) {engines} engines {args.engine_prefix}00..{engines - 1:02d}")
    with ThreadPoolExecutor(4) as pool:
        started = [
            i
            for i, was_started in enumerate(pool.map(lambda i: start_engine(args.engine_prefix, i), range(engines)))
            if was_started
        ]
    urls = [engine_url(args.engine_prefix, i) for i in range(engines)]
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-hosts-"))
    figures: list[Figures] = []
    try:
        remove_containers(urls)
        print(f"reconcile multi-host benchmark: {engines} engines, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        print(f"reconcile at {git_revision()}")
        say(f"compiled {compile_package()} to bytecode (as an install does)")
        pids = engine_pids(args.engine_prefix, engines)
        for group in batches(args.layouts, engines):
            figures += measure(group, urls, pids, args.rounds, work)
        missed = report(figures)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except (BenchFailed, docker.errors.DockerException, subprocess.CalledProcessError) as error:
        say(f"the benchmark could not run: {error}")
        return 1
    finally:
        with contextlib.suppress(Exception):
            remove_containers(urls)
        if not args.keep_engines:
            for index in started:
                stop_engine(args.engine_prefix, index)
    print()
    print("every target met" if not missed else "\n".join(f"MISSED  {line}" for line in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
