"""`reconcile daemon` for a benchmark, and one `reconcile` command timed through it (bench/vs_compose.py
--resident). The client is the console script's code (reconciler/resident/client.py); the command
runs in a child the daemon forks, so its CPU seconds are read from the daemon's reaped children
(/proc/PID/stat cutime + cstime) and added to the client's, with what the daemon itself spent
(accepting and forking); a command the daemon did not run is a failure of the benchmark."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from timing import PYTHON, BenchFailed, Timed, children_cpu, say

CLIENT = "import sys; sys.argv[0] = 'reconcile'; from reconciler.resident.client import main; main()"
TICK = os.sysconf("SC_CLK_TCK")


class Daemon:
    def __init__(self, process: subprocess.Popen[str], runtime: Path) -> None:
        self.process = process
        self.runtime = runtime

    def cpu(self) -> tuple[float, float]:
        """(the daemon's own CPU seconds, its reaped children's), once it has reaped every child."""
        pid = self.process.pid
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}/task/{pid}/children").read_text().strip():
            if time.monotonic() > deadline:
                raise BenchFailed("a child of reconcile daemon did not end")
            time.sleep(0.005)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK

    def reconcile(self, *args: str, cwd: Path, expect: str, env: dict[str, str]) -> Timed:
        """One `reconcile ARGS` through the daemon (exit 0, or 2 for changes), which must print ``expect``."""
        environ = {k: v for k, v in os.environ.items() if k not in ("RECONCILE_STATE_DIR", "COLUMNS")}
        environ.update(env, XDG_RUNTIME_DIR=str(self.runtime))
        own, children = self.cpu()
        started, cpu = time.monotonic(), children_cpu()
        done = subprocess.run(
            [str(PYTHON), "-c", CLIENT, *args], cwd=cwd, env=environ, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        wall, client_cpu = time.monotonic() - started, children_cpu() - cpu
        own_after, children_after = self.cpu()
        if expect not in done.stdout or done.returncode not in (0, 2):
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise BenchFailed(f"reconcile {' '.join(args)} (resident): exit {done.returncode}, expected {expect!r}:\n{tail}")
        if children_after <= children:
            raise BenchFailed(f"reconcile {' '.join(args)} did not go through the daemon")
        return Timed(wall, wall, done.stdout, done.stderr, client_cpu + (own_after - own) + (children_after - children))


@contextmanager
def running_daemon(work: Path) -> Iterator[Daemon]:
    """`reconcile daemon` with its socket under WORK/run, ready; stopped (SIGTERM) at the end."""
    runtime = work / "run"
    runtime.mkdir(mode=0o700)
    environ = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    process = subprocess.Popen(
        [str(PYTHON), "-c", CLIENT, "daemon", "--idle-timeout", "1h"], cwd=work, env=environ, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    ready = threading.Event()
    said: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            said.append(line.strip())
            if "ready on " in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    started = time.monotonic()
    try:
        while not ready.wait(0.1):
            if process.poll() is not None or time.monotonic() - started > 300:
                raise BenchFailed(f"reconcile daemon did not start: {' '.join(said)}")
        say(f"reconcile daemon ready after {time.monotonic() - started:.1f} s: {said[-1]}")
        yield Daemon(process, runtime)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
