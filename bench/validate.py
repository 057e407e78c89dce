"""`reconcile validate` of a large state against the floor of reading the same YAML with PyYAML's C
loader, both as whole processes, measured in the same run.

    bench/run --validate [--n 5000 10000] [--files 10] [--rounds 5]

For each N a state of N containers is written over --files files (about 480 bytes and 45 values a
container; half of them spelled out, half written compose-style with `<<: *base` and aliases of the
first container's healthcheck and logging). Then, interleaved for --rounds rounds:

  floor       `python -c` that imports yaml and runs yaml.load(text, Loader=yaml.CSafeLoader) on
              each file: interpreter start, import, libyaml, PyYAML's constructor. No validation.
  validate    `reconcile validate DIR` (exit 0, "valid"): interpreter start, imports, reading with
              positions, merging, ${VAR}, pydantic validation, references.

Each is timed by its wall clock and by its CPU time (user + system of the process): on a shared
machine the CPU time moves less. Medians are shown, with the ratio to the floor; the target is
validate <= 3 x floor. reconcile's own split (start-up, load_state, the rest) comes from timing.py's
clocks and an in-process re-timing of load_state.

A measurement, not a test: exits 0 whether or not the target is met (a miss prints MISSED).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from timing import PYTHON, REPO, WRAPPER, BenchFailed, compile_package, git_revision, print_verdict, say

from reconciler.model.load import load_state

TARGET = 3.0
FLOOR = """
import sys, yaml
for name in sys.argv[1:]:
    with open(name, encoding="utf-8") as f:
        yaml.load(f.read(), Loader=yaml.CSafeLoader)
"""


def container(index: int, first: bool) -> str:
    """One container: the first of each file carries the anchors; every second one after it is
    written compose-style, merging the first and aliasing its healthcheck and logging."""
    name = f"svc{index:05d}"
    port = 10000 + index
    if first or index % 2:
        return f"""  {name}:{" &base" if first else ""}
    image: registry.example.com/team/app-{index % 37}:1.{index % 11}.0
    command: ["serve", "--port", "{8000 + index % 1000}", "--name={name}"]
    environment:
      LOG_LEVEL: info
      APP_NAME: {name}
      WORKERS: "4"
    ports: ["127.0.0.1:{port}:8080"]
    volumes: ["{name}-data:/data", "/etc/ssl:/etc/ssl:ro"]
    restart: unless-stopped
    healthcheck:{" &hc" if first else ""}
      test: ["CMD-SHELL", "wget -q --spider http://localhost:8080/health || exit 1"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 10s
    logging: {"&log " if first else ""}{{driver: json-file, options: {{max-size: 10m, max-file: "3"}}}}
    labels: {{team: ops, app: {name}, tier: "{index % 3}"}}
    mem_limit: 512MB
    cpus: 0.5
    init: true
    stop_grace_period: 10s
"""
    return f"""  {name}:
    <<: *base
    command: ["serve", "--port", "{8000 + index % 1000}", "--name={name}"]
    ports: ["127.0.0.1:{port}:8080"]
    volumes: ["{name}-data:/data"]
    healthcheck: *hc
    logging: *log
    labels: {{team: ops, app: {name}}}
"""


def write_state(directory: Path, n: int, files: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for part in range(files):
        indexes = range(part * n // files, (part + 1) * n // files)
        path = directory / f"containers-{part:02d}.yaml"
        path.write_text("containers:\n" + "".join(container(i, i == indexes[0]) for i in indexes), encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system of the process
    work: float | None = None  # reconcile only: from "reconciler imported" to the end of main()


def children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def timed(argv: list[str], cwd: Path, expect: str = "", env: dict[str, str] | None = None) -> tuple[float, float]:
    """One process (the only child running): its wall time, and its CPU time, which is what the
    reaped children's user + system time grew by."""
    cpu, started = children_cpu(), time.monotonic()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    wall, cpu = time.monotonic() - started, children_cpu() - cpu
    if done.returncode != 0 or expect not in done.stdout:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise BenchFailed(f"{' '.join(argv[:3])}…: exit {done.returncode}, expected {expect!r} in the output:\n{tail}")
    return wall, cpu


def floor(files: list[Path], cwd: Path) -> Run:
    return Run(*timed([str(PYTHON), "-c", FLOOR, *map(str, files)], cwd))


def reconcile(args: list[str], cwd: Path, expect: str) -> Run:
    clocks = cwd / ".bench-clocks"
    env = {k: v for k, v in os.environ.items() if k not in ("RECONCILE_STATE_DIR", "COLUMNS")}
    env["BENCH_CLOCKS"] = str(clocks)
    wall, cpu = timed([str(PYTHON), "-c", WRAPPER, *args], cwd, expect=expect, env=env)
    ready, finished = (float(x) for x in clocks.read_text().split())
    return Run(wall, cpu, finished - ready)


def validate(state: Path, cwd: Path) -> Run:
    return reconcile(["validate", str(state)], cwd, expect="valid")


def in_process_load(state: Path, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        load_state(state, environ={})
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def verdict(ratio: float) -> str:
    return "met" if ratio <= TARGET else "MISSED"


def bench(n: int, files: int, rounds: int, scratch: Path, missed: list[str]) -> None:
    state = scratch / f"state-{n}"
    written = write_state(state, n, files)
    size = sum(p.stat().st_size for p in written)
    lines = sum(p.read_text().count("\n") for p in written)
    print(f"\nN = {n}: {n} containers in {files} files, {size / 1e6:.1f} MB, {lines:,} lines")
    floor(written, scratch)  # warm the page cache and the bytecode caches
    validate(state, scratch)
    floors, runs, startups = [], [], []
    for round_ in range(rounds):
        say(f"N={n}: round {round_ + 1} of {rounds}")
        floors.append(floor(written, scratch))
        runs.append(validate(state, scratch))
        startups.append(reconcile(["--version"], scratch, expect=""))
    floor_wall = statistics.median(r.wall for r in floors)
    floor_cpu = statistics.median(r.cpu for r in floors)
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    work = statistics.median(r.work or 0.0 for r in runs)
    load = in_process_load(state, rounds=3)
    print(f"  {'figure':<52} {'seconds':>8} {'x floor':>8}   {'target':<16} verdict")
    print(f"  {'-' * 52} {'-' * 8} {'-' * 8}   {'-' * 16} -------")
    print(f"  {'floor: yaml.load, CSafeLoader (process) wall':<52} {floor_wall:8.3f} {1:8.2f}")
    print(f"  {'  CPU (user + system)':<52} {floor_cpu:8.3f} {1:8.2f}")
    for label, value, base in (
        ("reconcile validate (process) wall", wall, floor_wall),
        ("  CPU (user + system)", cpu, floor_cpu),
    ):
        ratio = value / base
        print(f"  {label:<52} {value:8.3f} {ratio:8.2f}   {'<= 3 x floor':<16} {verdict(ratio)}")
        if ratio > TARGET:
            missed.append(f"N={n}: reconcile validate {label.strip()} {value:.3f} s = {ratio:.2f} x floor (target <= {TARGET} x)")
    print(f"  {'  excluding start-up (wall)':<52} {work:8.3f} {work / floor_wall:8.2f}   (none)")
    print(
        f"\n  samples: floor wall {', '.join(f'{r.wall:.3f}' for r in floors)}; cpu {', '.join(f'{r.cpu:.3f}' for r in floors)}"
    )
    print(f"           validate wall {', '.join(f'{r.wall:.3f}' for r in runs)}; cpu {', '.join(f'{r.cpu:.3f}' for r in runs)}")
    startup = statistics.median(r.cpu for r in startups)
    print(f"  where validate's CPU time goes (medians): start-up {startup:.3f} s (reconcile --version: interpreter, imports);")
    print(f"    load_state {load:.3f} s (re-timed in this process: read, merge, ${{VAR}}, validate, references);")
    print(f"    the rest (imports validate adds, summary, exit) {max(cpu - startup - load, 0.0):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"reconcile validate benchmark: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"reconcile at {git_revision()}; python {sys.version.split()[0]}")
    say(f"compiled {compile_package()} to bytecode (as an install does)")
    missed: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="reconcile-bench-validate-") as tmp:
            for n in args.n:
                bench(n, args.files, args.rounds, Path(tmp), missed)
    except BenchFailed as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2 CPUs: above 2, other work shares them)")
    print_verdict(missed, "")
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
