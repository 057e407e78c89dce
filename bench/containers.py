"""reconcile against the raw Docker floor, for N containers with healthchecks.

    bench/run [--n 100 500] [--rounds 3] [--health-interval 10m] [--keep-engine] [--engine NAME] [--no-create-floor]

Everything runs on a dedicated engine, `RECONCILER_ENGINE_NAME=bench scripts/docker-engine`
(unix:///run/reconciler-bench-docker.sock), never on the shared one the tests use. For each N:

  floor create    docker SDK, low level: create_container + start of N containers, 10 threads, with
                  the same image, command, healthcheck, init, network mode and as many labels as
                  reconcile sets; measured before and after the reconcile figures (mean of the two).
  cold apply      `reconcile apply DIR --auto-approve` of a state of N such containers, from none.
  floor observe   docker SDK: one list call + inspect of the N containers, 10 threads, in this process.
  process floor   the same as a new process: `python -c` that imports the docker SDK, connects
                  (version="auto": one /version call, as reconcile makes), lists and inspects. This is
                  the floor of the no-op plan's target (issue 18): python start + list + inspect.
  no-op plan      `reconcile plan DIR` once apply has converged.
  one-change plan the same with one container's command edited (a replace).
  Observe floors, no-op plan and one-change plan are interleaved for --rounds rounds; medians shown.
  After each no-op plan, reconcile's own load_state and ContainerKind.observe are re-timed in this
  process, to show where a plan's time goes (start-up, YAML, Docker calls, the rest).

reconcile is timed twice per run: wall time of the whole process, and "excluding start-up" (from
the moment `reconciler.cli` is imported, i.e. interpreter and imports done, to the end of main()).
Both come from one process: `python -c` runs exactly what the console script .venv/bin/reconcile
runs, plus two clock readings (CLOCK_MONOTONIC, shared by every process).

Healthchecks: every container has one (CMD-SHELL true) with a long interval (--health-interval,
10m by default) so no probe runs while the figures are taken: with N=500 a 30 s interval would be
17 `docker exec`s a second on a 2-core machine, measured noise for floor and reconcile alike. No
container has depends_on, so reconcile's cold apply waits on no health (it waits only where a
dependant needs a healthy dependency, or in a replace): "the healthcheck waits it must do" are 0 s.

A measurement, not a test: exits 0 even when a target is missed (printed as MISSED); exits 1 only
when the benchmark itself could not run. Every container it creates carries the label
reconcile-bench and is removed at the end, on error and on Ctrl-C. The bench engine is stopped at
the end if this run started it (--keep-engine leaves it up).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from timing import PYTHON, RECONCILE, REPO, BenchFailed, Timed, children_cpu, compile_package, git_revision, print_verdict, say
from timing import reconcile as reconcile_process

from reconciler.kinds.base import RunContext
from reconciler.kinds.container.kind import ContainerKind
from reconciler.model.load import load_state

ENGINE_NAME = "bench"  # --engine NAME: RECONCILER_ENGINE_NAME of scripts/docker-engine
ENGINE_HOST = f"unix:///run/reconciler-{ENGINE_NAME}-docker.sock"
ENGINE_PIDFILE = Path(f"/run/reconciler-{ENGINE_NAME}-docker.pid")
VERSION_BUDGET = 0.15  # reconcile --version <= python start + this (issue 18)
IMAGE = "reconciler-test/busybox:1"
BENCH_LABEL = "reconcile-bench"  # on every container this benchmark makes (reconciler.* is reserved in a state)
THREADS = 10  # the floor's threads; reconcile's settings.parallelism defaults to 10 as well
TARGET = 1.3
COMMAND = ["sleep", "86400"]
CHANGED_COMMAND = ["sleep", "86401"]
STOP_SECONDS = 2


# --- the engine -----------------------------------------------------------------------------------


def engine_answers() -> bool:
    try:
        with docker.APIClient(base_url=ENGINE_HOST, timeout=5) as client:
            client.ping()
    except Exception:  # any failure means "not up"
        return False
    return True


def ensure_engine() -> bool:
    """Starts (or finds) the bench engine and builds the test image in it. True if this run started it."""
    was_up = engine_answers()
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    out = subprocess.run(
        [str(REPO / "scripts" / "docker-engine")],
        env={**env, "RECONCILER_ENGINE_NAME": ENGINE_NAME}, stdout=subprocess.PIPE, text=True, check=True,
    ).stdout  # fmt: skip
    host = out.strip().splitlines()[-1].removeprefix("DOCKER_HOST=")
    if host != ENGINE_HOST:  # never measure on (and never clean up) another engine
        raise SystemExit(f"bench: scripts/docker-engine answered {host}, not {ENGINE_HOST}; refusing to run")
    images = [str(PYTHON), str(REPO / "scripts" / "demo-images"), IMAGE]
    subprocess.run(images, env={**env, "DOCKER_HOST": ENGINE_HOST}, check=True)
    return not was_up


def stop_engine() -> None:
    """SIGTERM to the bench dockerd this run started (by the pid in its pidfile), then wait."""
    try:
        pid = int(ENGINE_PIDFILE.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return
    if "dockerd" not in cmdline or ENGINE_HOST not in cmdline:
        say(f"pid {pid} in {ENGINE_PIDFILE} is not the bench dockerd; leaving it alone")
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.2)
    say(f"stopped the bench engine (dockerd pid {pid})")


def client() -> docker.APIClient:
    return docker.APIClient(base_url=ENGINE_HOST, version="auto", max_pool_size=THREADS + 2, timeout=300)


def remove_bench_containers() -> tuple[int, float]:
    """Removes every container labelled reconcile-bench on the bench engine (until none is left:
    a create that was in flight when we listed may land afterwards). (count, seconds)."""
    started = time.monotonic()
    removed = 0
    with client() as api, ThreadPoolExecutor(THREADS) as pool:
        for _ in range(5):
            ids = [c["Id"] for c in api.containers(all=True, filters={"label": BENCH_LABEL})]
            if not ids:
                break

            def remove(container_id: str) -> None:
                with contextlib.suppress(docker.errors.NotFound):
                    api.remove_container(container_id, force=True)

            list(pool.map(remove, ids))
            removed += len(ids)
            time.sleep(0.5)
    return removed, time.monotonic() - started


# --- the floor: the docker SDK alone --------------------------------------------------------------


def health_engine_form(interval_s: float) -> dict[str, Any]:
    return {"Test": ["CMD-SHELL", "test -d /tmp"], "Interval": int(interval_s * 1e9), "Timeout": 5 * 10**9, "Retries": 3}


def floor_create(n: int, interval_s: float) -> float:
    """create_container + start of n containers, THREADS at a time, as reconcile's create does them."""
    started = time.monotonic()
    with client() as api:
        healthcheck = health_engine_form(interval_s)

        def create(i: int) -> None:
            host_config = api.create_host_config(
                network_mode="none", init=True, restart_policy={"Name": "", "MaximumRetryCount": 0}
            )
            labels = {  # as many, and as long, as reconcile's
                BENCH_LABEL: "floor",
                "reconciler.managed": "false",
                "reconciler.address": f"container.floor-{i:04d}",
                "reconciler.config-hash": "sha256:" + f"{i:064x}",
            }
            created = api.create_container(
                image=IMAGE, name=f"floor-{i:04d}", command=COMMAND, environment={}, labels=labels,
                healthcheck=healthcheck, stop_timeout=STOP_SECONDS, host_config=host_config, detach=True,
            )  # fmt: skip
            api.start(created["Id"])

        pool = ThreadPoolExecutor(THREADS)
        try:
            futures = [pool.submit(create, i) for i in range(n)]
            errors = [f.exception() for f in futures if f.exception() is not None]
        finally:  # on Ctrl-C: start no more creates; the clean-up removes what was made
            pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.monotonic() - started
    if errors:
        raise BenchFailed(f"floor create: {len(errors)} of {n} failed; the first: {errors[0]}")
    return seconds


def use_engine(name: str) -> None:
    global ENGINE_NAME, ENGINE_HOST, ENGINE_PIDFILE
    ENGINE_NAME = name
    ENGINE_HOST = f"unix:///run/reconciler-{name}-docker.sock"
    ENGINE_PIDFILE = Path(f"/run/reconciler-{name}-docker.pid")


FLOOR_PROCESS = f"""
import sys
from concurrent.futures import ThreadPoolExecutor
import docker
api = docker.APIClient(base_url=sys.argv[1], version="auto", max_pool_size={THREADS + 2})
with ThreadPoolExecutor({THREADS}) as pool:
    records = list(pool.map(api.inspect_container, [c["Id"] for c in api.containers(all=True)]))
print(len(records))
"""


def floor_process() -> tuple[float, float, int]:
    """The no-op plan's floor: a new python process that imports the docker SDK, lists and inspects
    every container, THREADS at a time. (wall seconds, CPU seconds, count)."""
    started, cpu = time.monotonic(), children_cpu()
    done = subprocess.run([str(PYTHON), "-c", FLOOR_PROCESS, ENGINE_HOST], capture_output=True, text=True, check=True)
    return time.monotonic() - started, children_cpu() - cpu, int(done.stdout.strip())


def floor_observe() -> tuple[float, int]:
    """One list call, then inspect every listed container, THREADS at a time. (seconds, count)."""
    started = time.monotonic()
    with client() as api, ThreadPoolExecutor(THREADS) as pool:
        listing = api.containers(all=True)
        records = list(pool.map(api.inspect_container, [c["Id"] for c in listing]))
    return time.monotonic() - started, len(records)


# --- reconcile ------------------------------------------------------------------------------------


def reconcile(*args: str, cwd: Path, expect: str) -> Timed:
    return reconcile_process(*args, cwd=cwd, expect=expect, env={"DOCKER_HOST": ENGINE_HOST})


def timed_process(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``argv``."""
    started, cpu = time.monotonic(), children_cpu()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.monotonic() - started, children_cpu() - cpu


def startup_costs(rounds: int) -> tuple[float, float, float, float]:
    """`python -c pass` (the interpreter) and `reconcile --version`, alternated ``rounds`` times on
    a shared machine (after one warm-up of each): their wall medians, the median of each round's
    wall difference, and the median of each round's CPU difference."""
    timed_process([str(PYTHON), "-c", "pass"])
    timed_process([str(RECONCILE), "--version"])
    pairs = [(timed_process([str(PYTHON), "-c", "pass"]), timed_process([str(RECONCILE), "--version"])) for _ in range(rounds)]
    return (
        statistics.median(p[0] for p, _ in pairs),
        statistics.median(v[0] for _, v in pairs),
        statistics.median(v[0] - p[0] for p, v in pairs),
        statistics.median(v[1] - p[1] for p, v in pairs),
    )


def plan_phases(state: Path) -> tuple[float, float]:
    """The two big phases of a plan, timed in this process with reconcile's own functions:
    load_state (read and parse the YAML, validate) and the container kind's observe."""
    started = time.monotonic()
    loaded = load_state(state)
    loading = time.monotonic() - started
    context = RunContext(state=loaded.state, state_dir=loaded.directory, now=datetime.now(UTC))
    started = time.monotonic()
    try:
        ContainerKind(context).observe(loaded.state.containers)
    finally:
        context.close()
    return loading, time.monotonic() - started


def write_state(directory: Path, n: int, health_interval: str, changed: int | None = None) -> None:
    lines = ["containers:"]
    for i in range(n):
        command = CHANGED_COMMAND if i == changed else COMMAND
        lines += [
            f"  bench-{i:04d}:",
            f"    image: {IMAGE}",
            f"    command: {json.dumps(command)}",
            "    network_mode: none",
            "    init: true",
            f"    stop_grace_period: {STOP_SECONDS}s",
            f"    healthcheck: {{test: [CMD-SHELL, 'test -d /tmp'], interval: {health_interval}, timeout: 5s, retries: 3}}",
            f"    labels: {{{BENCH_LABEL}: state}}",
        ]
    (directory / "containers.yaml").write_text("\n".join(lines) + "\n")


# --- one N ----------------------------------------------------------------------------------------


@dataclass
class Figures:
    n: int
    create_floor: list[float]
    observe_floor: list[float]
    process_floor: list[float]
    process_floor_cpu: list[float]
    cold_apply: Timed
    noop_plan: list[Timed]
    change_plan: list[Timed]
    plan_load: list[float]  # load_state alone, in this process
    plan_observe: list[float]  # the container observe alone, in this process
    running_after_apply: int
    mem_available_gib: float


def mem_available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def measure(n: int, rounds: int, interval_s: float, health_interval: str, work: Path, with_create_floor: bool) -> Figures:
    state = work / f"state-{n}"
    state.mkdir()
    say(f"N={n}: floor create (1 of 2)")
    create_floor = [floor_create(n, interval_s)] if with_create_floor else []
    count, seconds = remove_bench_containers()
    say(f"N={n}: removed {count} floor containers in {seconds:.1f} s")

    write_state(state, n, health_interval)
    say(f"N={n}: reconcile apply (cold)")
    cold = reconcile("apply", str(state), "--auto-approve", cwd=work, expect=f"Apply complete: {n} done.")
    with client() as api:
        running = len(api.containers(filters={"label": f"{BENCH_LABEL}=state", "status": "running"}))
    if running != n:
        raise BenchFailed(f"after the cold apply {running} of {n} containers run")
    memory = mem_available_gib()

    observe: list[float] = []
    process: list[float] = []
    process_cpu: list[float] = []
    noop: list[Timed] = []
    change: list[Timed] = []
    phases: list[tuple[float, float]] = []
    for r in range(rounds):
        say(f"N={n}: round {r + 1} of {rounds}: floor observe, no-op plan, one-change plan")
        seconds, seen = floor_observe()
        if seen != n:
            raise BenchFailed(f"floor observe saw {seen} containers, expected {n}")
        observe.append(seconds)
        seconds, cpu, seen = floor_process()
        if seen != n:
            raise BenchFailed(f"process floor saw {seen} containers, expected {n}")
        process.append(seconds)
        process_cpu.append(cpu)
        write_state(state, n, health_interval)
        noop.append(reconcile("plan", str(state), cwd=work, expect="No changes."))
        phases.append(plan_phases(state))
        write_state(state, n, health_interval, changed=n // 2)
        change.append(reconcile("plan", str(state), cwd=work, expect="Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy"))

    count, seconds = remove_bench_containers()
    say(f"N={n}: removed {count} reconcile containers in {seconds:.1f} s")
    if with_create_floor:
        say(f"N={n}: floor create (2 of 2)")
        create_floor.append(floor_create(n, interval_s))
        count, seconds = remove_bench_containers()
        say(f"N={n}: removed {count} floor containers in {seconds:.1f} s")
    loads, observes = [p[0] for p in phases], [p[1] for p in phases]
    return Figures(n, create_floor, observe, process, process_cpu, cold, noop, change, loads, observes, running, memory)


# --- the report -----------------------------------------------------------------------------------


def verdict(seconds: float, budget: float) -> str:
    return "met" if seconds <= budget else "MISSED"


def report(f: Figures, rounds: int, health_interval: str) -> list[str]:
    """The table for one N; returns the MISSED lines."""
    create = statistics.mean(f.create_floor) if f.create_floor else float("nan")
    observe = statistics.median(f.observe_floor)
    process = statistics.median(f.process_floor)
    process_cpu = statistics.median(f.process_floor_cpu)
    noop_cpu = statistics.median(t.cpu for t in f.noop_plan)
    noop_wall = statistics.median(t.wall for t in f.noop_plan)
    noop_work = statistics.median(t.work for t in f.noop_plan)
    change_wall = statistics.median(t.wall for t in f.change_plan)
    change_work = statistics.median(t.work for t in f.change_plan)
    health_waits = 0.0  # no depends_on: apply waits on no healthcheck (see the module docstring)
    create_budget = TARGET * create + health_waits

    def spread(values: list[float]) -> str:
        return ", ".join(f"{v:.3f}" for v in values)

    apply_rows: list[tuple[str, float, str, str, str]] = [
        (f"floor: create+start {f.n} (SDK, {THREADS} threads)", create, "1.00", "", ""),
        ("reconcile apply, cold: wall", f.cold_apply.wall, f"{f.cold_apply.wall / create:.2f}",
         f"<= {TARGET} x create + {health_waits:.0f} s", verdict(f.cold_apply.wall, create_budget)),
        ("  excluding start-up", f.cold_apply.work, f"{f.cold_apply.work / create:.2f}",
         f"<= {TARGET} x create + {health_waits:.0f} s", verdict(f.cold_apply.work, create_budget)),
    ] if f.create_floor else [
        ("reconcile apply, cold: wall (no create floor)", f.cold_apply.wall, "", "(--no-create-floor)", ""),
    ]  # fmt: skip
    rows: list[tuple[str, float, str, str, str]] = [
        (f"floor: python + list + inspect {f.n} (process)", process, "1.00", "", ""),
        (f"  list + inspect {f.n} in this process", observe, f"{observe / process:.2f}", "", ""),
        *apply_rows,
        ("reconcile plan, no-op: wall", noop_wall, f"{noop_wall / process:.2f}",
         f"<= {TARGET} x process floor", verdict(noop_wall, TARGET * process)),
        ("  excluding start-up", noop_work, f"{noop_work / process:.2f}", "(none)", ""),
        ("  CPU seconds (user+sys) vs the floor's CPU", noop_cpu, f"{noop_cpu / process_cpu:.2f}", "(none)", ""),
        ("reconcile plan, one change: wall", change_wall, f"{change_wall / process:.2f}", "(none)", ""),
        ("  excluding start-up", change_work, f"{change_work / process:.2f}", "(none)", ""),
    ]  # fmt: skip
    print()
    print(f"N = {f.n}: {f.running_after_apply} containers running after the cold apply, MemAvailable then "
          f"{f.mem_available_gib:.1f} GiB")  # fmt: skip
    print(f"  healthcheck: CMD-SHELL test -d /tmp, interval {health_interval}, timeout 5s, retries 3; no depends_on,")
    print("  so the cold apply must wait on no healthcheck: its budget is 1.3 x create floor + 0 s")
    print()
    print(f"  {'figure':<46} {'seconds':>9} {'x floor':>8}   {'target':<26} verdict")
    print(f"  {'-' * 46} {'-' * 9} {'-' * 8}   {'-' * 26} -------")
    for name, seconds, ratio, target, mark in rows:
        print(f"  {name:<46} {seconds:>9.3f} {ratio:>8}   {target:<26} {mark}")
    print()
    print(f"  samples: create floor (before, after) {spread(f.create_floor)}; observe floor {spread(f.observe_floor)}")
    print(f"           process floor {spread(f.process_floor)}, its CPU {spread(f.process_floor_cpu)}; "
          f"no-op plan CPU {spread([t.cpu for t in f.noop_plan])}")  # fmt: skip
    print(f"           no-op plan wall {spread([t.wall for t in f.noop_plan])}, excl. start-up "
          f"{spread([t.work for t in f.noop_plan])}")  # fmt: skip
    print(f"           one-change plan wall {spread([t.wall for t in f.change_plan])}, excl. start-up "
          f"{spread([t.work for t in f.change_plan])}")  # fmt: skip
    print(f"           ({rounds} rounds, medians above; apply's start-up = wall - excl. = "
          f"{f.cold_apply.wall - f.cold_apply.work:.3f} s)")  # fmt: skip
    loading, observing = statistics.median(f.plan_load), statistics.median(f.plan_observe)
    print()
    print("  where the no-op plan's time goes (medians; load and observe re-timed in this process with reconcile's")
    print("  own load_state and ContainerKind.observe):")
    print(f"    start-up: interpreter + the CLI's imports     {noop_wall - noop_work:7.3f} s")
    print(f"    load_state: read + parse the YAML, validate    {loading:7.3f} s")
    print(f"    container observe: list, inspect, images, info {observing:7.3f} s  = {observing / observe:.2f} x in-process")
    rest = noop_work - loading - observing
    noise = "  (within noise)" if rest < 0 else ""
    print(f"    the rest: what the plan imports when it runs   {max(0.0, rest):7.3f} s{noise}")
    print("      (pydantic and the model, the docker SDK, the kinds), the first connection, diff, render, exit")
    print(f"  load average when this N ended: {os.getloadavg()[0]:.2f} (2 CPUs: above 2, other work shares them)")
    missed, figure = [], ""
    for name, seconds, ratio, target, mark in rows:
        figure = name.partition(":")[0] if not name.startswith(" ") else figure  # "  excluding …" belongs to the row above
        if mark == "MISSED":
            what = name if not name.startswith(" ") else f"{figure}: {name.strip()}"
            missed.append(f"N={f.n}: {what} {seconds:.3f} s = {ratio} x floor (target {target})")
    return missed


# --- main -----------------------------------------------------------------------------------------


def parse_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * units[unit]
    raise argparse.ArgumentTypeError(f"a duration like 30s or 10m, not {text!r}")


@contextlib.contextmanager
def cleanup_on_exit(stop: Callable[[], None]) -> Iterator[None]:
    """Whatever happens (an error, Ctrl-C, SIGTERM), remove our containers; a second Ctrl-C during
    the clean-up is ignored so that it finishes."""

    def on_term(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (cmd &)
    try:
        yield
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            count, seconds = remove_bench_containers()
            if count:
                say(f"clean-up: removed {count} containers in {seconds:.1f} s")
            stop()
        finally:
            signal.signal(signal.SIGINT, previous)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 500], help="container counts (default: 100 500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of observe floor / no-op plan / one-change plan")
    parser.add_argument("--health-interval", default="10m", help="the containers' healthcheck interval (default 10m)")
    parser.add_argument("--keep-engine", action="store_true", help="leave the bench engine running at the end")
    parser.add_argument("--engine", default="bench", help="RECONCILER_ENGINE_NAME of the engine to use (default: bench)")
    parser.add_argument("--no-create-floor", action="store_true", help="skip the create floor (the apply target then has none)")
    parser.add_argument("--startup-rounds", type=int, default=11, help="rounds of python -c pass / reconcile --version")
    args = parser.parse_args()
    use_engine(args.engine)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    interval_s = parse_seconds(args.health_interval)

    started_engine = ensure_engine()
    os.environ["DOCKER_HOST"] = ENGINE_HOST  # for plan_phases, which connects as reconcile does
    say(f"engine {ENGINE_HOST} ({'started by this run' if started_engine else 'already running'})")
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-"))
    missed: list[str] = []
    stop = stop_engine if started_engine and not args.keep_engine else (lambda: None)
    try:
        with cleanup_on_exit(stop):
            count, _ = remove_bench_containers()  # what an interrupted earlier run may have left
            if count:
                say(f"removed {count} containers an earlier run left")
            with client() as api:
                version = api.version()
            info = f"{os.cpu_count()} CPUs, {mem_available_gib():.1f} GiB available, load {os.getloadavg()[0]:.2f}"
            say("warm-up: create and remove 10 containers (not measured)")
            floor_create(10, interval_s)
            remove_bench_containers()
            say(f"compiled {compile_package()} to bytecode (as an install does)")
            python_s, version_s, extra_s, extra_cpu = startup_costs(args.startup_rounds)
            print(f"reconcile benchmark: engine {ENGINE_HOST} (Docker {version['Version']}), image {IMAGE}, {info}")
            print(f"reconcile at {git_revision()}")
            mark = verdict(extra_s, VERSION_BUDGET)
            print(f"fixed start-up cost: python -c pass {python_s:.3f} s, reconcile --version {version_s:.3f} s "
                  f"(medians of {args.startup_rounds}, alternated); --version - python, median of the rounds: "
                  f"{extra_s:.3f} s (target <= {VERSION_BUDGET} s) {mark}; in CPU seconds: {extra_cpu:.3f} s")  # fmt: skip
            if mark == "MISSED":
                missed.append(f"reconcile --version: {extra_s:.3f} s over python start (target <= {VERSION_BUDGET} s)")
            for n in args.n:
                figures = measure(n, args.rounds, interval_s, args.health_interval, work, not args.no_create_floor)
                missed += report(figures, args.rounds, args.health_interval)
    except KeyboardInterrupt:
        say("interrupted; containers removed")
        return 130
    except (BenchFailed, docker.errors.DockerException, subprocess.CalledProcessError) as error:
        say(f"the benchmark could not run: {error}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    engine = "stopped" if started_engine and not args.keep_engine else "left running"
    print_verdict(missed, f"bench engine {engine}; ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
