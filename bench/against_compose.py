"""What the benchmarks against Docker Compose v2 share (bench/health_wait.py, bench/vs_compose.py):
one compose v2 process timed, and the run around a measurement — the bench engine, a scratch
directory, the header naming engine, compose and reconcile versions, clean-up on every exit, and the
verdict (exit 0 with MISSED lines when a target is missed, 1 when the benchmark cannot run)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import containers as bench
import docker
from timing import REPO, BenchFailed, children_cpu, compile_package, git_revision, print_verdict, say

sys.path.insert(0, str(REPO))
from tests.support.compose_oracle import compose_binary


def compose(work: Path, project: str, *args: str) -> tuple[float, float]:
    """One compose v2 process on work/compose.yaml against the bench engine: (wall, CPU seconds)."""
    argv = [str(compose_binary()), "--project-directory", str(work), "-f", str(work / "compose.yaml"), "-p", project, *args]
    env = {**os.environ, "DOCKER_HOST": bench.ENGINE_HOST, "COMPOSE_PROGRESS": "plain"}
    started, cpu = time.monotonic(), children_cpu()
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    seconds, cpu = time.monotonic() - started, children_cpu() - cpu
    if done.returncode != 0:
        raise BenchFailed(f"compose {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-800:]}")
    return seconds, cpu


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", default="bench", help="RECONCILER_ENGINE_NAME of the engine to use (default: bench)")
    parser.add_argument("--keep-engine", action="store_true", help="leave the bench engine running at the end")


def run_against_compose(args: argparse.Namespace, title: str, setting: str, measure: Callable[[Path], list[str]]) -> int:
    """Runs ``measure(work)`` (work: a scratch directory holding desired_state/; it returns the
    targets it missed) on the bench engine, after a header line of ``title`` and one of ``setting``."""
    bench.use_engine(args.engine)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    started_engine = bench.ensure_engine()
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-"))
    (work / "desired_state").mkdir()
    stop = bench.stop_engine if started_engine and not args.keep_engine else (lambda: None)
    try:
        with bench.cleanup_on_exit(stop):
            bench.remove_bench_containers()
            compile_package()
            with bench.client() as api:
                version = api.version()
            compose_version = subprocess.run([str(compose_binary()), "version", "--short"], capture_output=True, text=True)
            print(
                f"{title}: engine {bench.ENGINE_HOST} (Docker {version['Version']}, API {version['ApiVersion']}), "
                f"compose {compose_version.stdout.strip()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
            )
            print(f"reconcile at {git_revision()}; {setting}")
            missed = measure(work)
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
