"""A real `reconcile daemon` for a test, in a socket directory of its own, and `reconcile` run as
the console script runs it (reconciler/resident/client.py) or in-process (reconciler.cli's main),
with the same argv[0], so that their outputs compare byte for byte.

Whether a command went through the daemon is read from the kernel, not from what reconcile says:
the CPU time of the daemon's reaped children (/proc/PID/stat cutime + cstime) grows by what the
command's child used, and stays exactly the same when the command ran in the client's process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CLIENT = "import sys; sys.argv[0] = 'reconcile'; from reconciler.resident.client import main; main()"
IN_PROCESS = "import sys; sys.argv[0] = 'reconcile'; from reconciler.cli import main; main()"
SCRUBBED = ("RECONCILE_STATE_DIR", "REDIS_PASSWORD", "XDG_RUNTIME_DIR")
READY_SECONDS = 120  # the daemon's imports, on a machine shared with other test suites


def short_runtime_dir() -> Path:
    """A 0700 XDG_RUNTIME_DIR short enough for a unix socket path (pytest's tmp_path may not be)."""
    directory = Path(tempfile.mkdtemp(prefix="rr-", dir="/tmp"))
    directory.chmod(0o700)
    return directory


def environ(runtime: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    return {**base, "XDG_RUNTIME_DIR": str(runtime), **(env or {})}


def run(code: str, *args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class Daemon:
    process: subprocess.Popen[str]
    runtime: Path
    said: list[str] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        line = next(line for line in self.said if "ready on " in line)
        return Path(line.split("ready on ", 1)[1].split(" (", 1)[0])

    def children_cpu_ticks(self) -> int:
        """CPU ticks of the daemon's children it has reaped, once every child is reaped."""
        pid = self.process.pid
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}/task/{pid}/children").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.02)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16 and 17 of stat(5))

    def client(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], bool]:
        """`reconcile ARGS` through the console script; and whether the daemon ran it."""
        before = self.children_cpu_ticks() if self.process.poll() is None else None
        done = run(CLIENT, *args, cwd=cwd, env=environ(self.runtime, env))
        ran = before is not None and self.process.poll() is None and self.children_cpu_ticks() > before
        return done, ran

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(30)


@contextmanager
def running_daemon(*, env: dict[str, str] | None = None, cwd: Path | None = None, idle: str = "10m") -> Iterator[Daemon]:
    """`reconcile daemon` in a runtime directory of its own, ready; stopped (SIGTERM) at the end."""
    runtime = short_runtime_dir()
    process = subprocess.Popen(
        [sys.executable, "-c", CLIENT, "daemon", "--idle-timeout", idle],
        cwd=cwd or runtime, env=environ(runtime, env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    daemon = Daemon(process, runtime)
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            daemon.said.append(line)
            if "ready on " in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not ready.wait(0.1):
            assert process.poll() is None and time.monotonic() < deadline, "".join(daemon.said)
        yield daemon
    finally:
        daemon.stop(signal.SIGKILL if process.poll() is None and not _stops(daemon) else signal.SIGTERM)
        reader.join(10)
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(runtime, ignore_errors=True)


def _stops(daemon: Daemon) -> bool:
    daemon.process.send_signal(signal.SIGTERM)
    try:
        daemon.process.wait(30)
    except subprocess.TimeoutExpired:
        return False
    return True
