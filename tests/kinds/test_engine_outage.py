"""Faults under a running apply, for real: the test's own Docker engine stopped in the middle (its
dockerd is killed and started again after), and the state directory on a small tmpfs that
fills up. The report says what was done, what failed and why; the next plan shows what is left and
a second apply finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.kinds.test_containers import absent, container, containers, engine, write
from tests.kinds.test_signals import slow
from tests.support.cli import run_reconcile
from tests.support.docker_engine import ENGINE_SCRIPT
from tests.support.full_disk import fill, mounted_tmpfs, release

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def engine_pid() -> int:
    """The pid of the engine scripts/docker-engine runs for this session (skip: an engine it does not run)."""
    name = os.environ.get("RECONCILER_ENGINE_NAME", "")
    pidfile = Path(f"/run/reconciler{'-' + name if name else ''}-docker.pid")
    if not pidfile.exists():
        pytest.skip("the engine is not one scripts/docker-engine started (no pidfile): it is not this test's to stop")
    return int(pidfile.read_text().strip())


def start_engine() -> None:
    subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, timeout=120, check=True)


def stop_engine(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)  # gone at once, as a crashed engine (SIGTERM would stop its containers first)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"dockerd {pid} did not stop within 30s")


@pytest.fixture
def stoppable_engine(docker_client: docker.DockerClient) -> Iterator[int]:
    """The engine's pid; whatever the test does, the engine answers again after it."""
    pid = engine_pid()
    try:
        yield pid
    finally:
        start_engine()


def apply_until(tmp_path: Path, said: str, then: threading.Event) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `apply`; ``then`` is set once its progress says ``said``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "desired_state", "--auto-approve", "--parallelism", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if said in line:
                then.set()

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def test_the_engine_going_away_mid_apply_is_reported_and_the_next_apply_converges(
    tmp_path: Path, prefix: str, docker_client: docker.DockerClient, stoppable_engine: int
) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    slow_db = slow(f"{prefix}-a-db", 3)
    web = container(f"{prefix}-b-web", extra=f"depends_on: [{prefix}-a-db]")
    other = container(f"{prefix}-c-other", extra=f"depends_on: [{prefix}-a-db]")
    write(state, containers(slow_db, web, other))
    waiting = threading.Event()
    process, said = apply_until(tmp_path, f"waiting for {prefix}-a-db to be running and healthy", waiting)
    with process:
        assert waiting.wait(60), "".join(said)
        stop_engine(stoppable_engine)
        assert process.stdout is not None
        stdout = process.stdout.read()
        process.wait(120)
    stderr = "".join(said)
    assert process.returncode == 1, stdout + stderr
    assert "internal error" not in stdout + stderr and "Traceback" not in stderr
    report = [line.split(maxsplit=2) for line in stdout.splitlines() if line.startswith(("  done ", "  failed "))]
    lines = {words[1].rstrip(":"): " ".join(words) for words in report}
    assert len(lines) == 3, stdout + stderr
    assert lines[f"container.{prefix}-a-db"].split()[0] == "done"
    for left in (f"container.{prefix}-b-web", f"container.{prefix}-c-other"):
        assert lines[left].split()[0] == "failed", lines[left]
        assert "host local: cannot reach the Docker engine at" in lines[left]
    assert "Apply incomplete: 1 done, 2 failed." in stdout

    start_engine()
    left = run_reconcile("plan", "desired_state", cwd=tmp_path)
    assert f"+ container.{prefix}-b-web" in left.stdout and f"+ container.{prefix}-c-other" in left.stdout
    assert f"+ container.{prefix}-a-db" not in left.stdout  # made before the engine went away: not made again
    again = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    for name in ("a-db", "b-web", "c-other"):
        assert engine(docker_client, f"{prefix}-{name}")["State"]["Status"] == "running"
    assert not absent(docker_client, f"{prefix}-b-web")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/desired_state on a tmpfs of its own, 1 MiB."""
    with mounted_tmpfs(tmp_path / "desired_state", "1m") as directory:
        yield directory


def test_a_full_disk_under_the_state_directory_is_reported_with_the_file_and_the_cause(
    tmp_path: Path, prefix: str, docker_client: docker.DockerClient, small_disk: Path
) -> None:
    slow_db = slow(f"{prefix}-a-db", 3)
    write(small_disk, containers(slow_db, container(f"{prefix}-b-web", extra=f"depends_on: [{prefix}-a-db]")))
    waiting = threading.Event()
    process, said = apply_until(tmp_path, f"waiting for {prefix}-a-db to be running and healthy", waiting)
    with process:
        assert waiting.wait(60), "".join(said)
        fillers = fill(small_disk)
        assert process.stdout is not None
        stdout = process.stdout.read()
        process.wait(120)
    stderr = "".join(said)
    assert process.returncode == 1, stdout + stderr
    assert "internal error" not in stdout + stderr and "Traceback" not in stderr
    web = next(line for line in stdout.splitlines() if f"container.{prefix}-b-web:" in line and line.startswith("  failed"))
    journal = "desired_state/.reconcile.journal.json"  # as the user named the state directory
    assert f"created and started, but the journal ({journal}: No space left on device) could not be updated" in web
    assert not (small_disk / ".reconcile.lock.info").exists()

    release(fillers)
    left = run_reconcile("plan", "desired_state", cwd=tmp_path)
    assert "No changes." in left.stdout, left.stdout + left.stderr  # both containers are there: nothing is left
    again = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert engine(docker_client, f"{prefix}-b-web")["State"]["Status"] == "running"
