"""What every benchmark here shares: reconcile run as a process and timed two ways, its start-up
cost, and the revision measured. Imported by the bench scripts as a sibling module."""

from __future__ import annotations

import compileall
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"

# What .venv/bin/reconcile runs, plus two clock readings written to $BENCH_CLOCKS: once the
# reconciler is imported (start-up done) and when main() ends (atexit runs before teardown).
WRAPPER = """
import atexit, os, sys, time
from reconciler.cli import main
ready = time.monotonic()
def _mark():
    with open(os.environ["BENCH_CLOCKS"], "w") as f:
        f.write(f"{ready} {time.monotonic()}")
atexit.register(_mark)
sys.argv[0] = "reconcile"
sys.exit(main())
"""


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchFailed(Exception):
    pass


@dataclass(frozen=True)
class Timed:
    wall: float  # the whole process
    work: float  # from "reconciler imported" to the end of main()
    stdout: str
    stderr: str
    cpu: float = 0.0  # user + system CPU seconds of the process: less sensitive than wall time to a busy machine


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reconcile(*args: str, cwd: Path, expect: str, env: dict[str, str] | None = None) -> Timed:
    """One `reconcile ARGS` process (exit 0, or 2 for changes), which must print ``expect``."""
    clocks = cwd / ".bench-clocks"
    environ = {k: v for k, v in os.environ.items() if k not in ("RECONCILE_STATE_DIR", "COLUMNS")}
    environ.update(env or {}, BENCH_CLOCKS=str(clocks))
    started, cpu = time.monotonic(), children_cpu()
    done = subprocess.run(
        [str(PYTHON), "-c", WRAPPER, *args], cwd=cwd, env=environ, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    ended = time.monotonic()
    if expect not in done.stdout or done.returncode not in (0, 2):
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BenchFailed(f"reconcile {' '.join(args)}: exit {done.returncode}, expected {expect!r} in the output:\n{tail}")
    ready, finished = (float(x) for x in clocks.read_text().split())
    return Timed(ended - started, finished - ready, done.stdout, done.stderr, children_cpu() - cpu)


def median_wall(argv: list[str], rounds: int = 5) -> float:
    """Median wall time of a command, after one run that warms the page cache."""

    def wall() -> float:
        started = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        return time.monotonic() - started

    wall()
    return statistics.median(wall() for _ in range(rounds))


def git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    dirty = git("status", "--porcelain", "--", "reconciler")
    return f"commit {git('rev-parse', '--short', 'HEAD') or '?'}" + (" (reconciler/ has uncommitted changes)" if dirty else "")


def print_verdict(missed: list[str], aftermath: str) -> None:
    """The closing lines of a benchmark: each missed target, or that all were met; then what was left
    running (``aftermath``), and that a measurement exits 0 either way."""
    if missed:
        print(f"MISSED {len(missed)} target(s):")
        for line in missed:
            print(f"  MISSED  {line}")
    else:
        print("every target met")
    print(f"({aftermath}a measurement: exit 0 either way)")


def compile_package() -> Path:
    """Write reconcile's bytecode (__pycache__) before anything is timed, as `pip install` does. Where
    PYTHONDONTWRITEBYTECODE is set (it is on the machine these figures come from), python never
    writes it, and every process compiled reconcile's ~65 modules from source again: ~0.15 s of CPU
    that an installed reconcile does not pay."""
    spec = importlib.util.find_spec("reconciler")
    assert spec is not None and spec.submodule_search_locations, "reconciler is not importable"
    package = Path(next(iter(spec.submodule_search_locations)))
    compileall.compile_dir(package, quiet=1)
    return package
