"""SIGTERM and SIGINT during an apply, at named points (RECONCILE_TEST_SIGNAL_AT, as the process
would get them from outside at that instant), and a restart loop: a stop starts nothing new, lets
the running steps end and says truthfully what became of each; a second signal stops at once; a
container that exits at once under `restart: always` fails its step and its dependants never start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import pytest

from tests.kinds.test_containers import SECRET, absent, container, containers, engine, write
from tests.support.cli import run_reconcile

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def apply(tmp_path: Path, signal_at: str | None = None, sig: str = "SIGTERM") -> subprocess.CompletedProcess[str]:
    env = {"TEST_SECRET": SECRET, **({"RECONCILE_TEST_SIGNAL_AT": signal_at, "RECONCILE_TEST_SIGNAL": sig} if signal_at else {})}
    return run_reconcile("apply", "desired_state", "--auto-approve", "--parallelism", "1", cwd=tmp_path, env=env, timeout=120)


def line_of(output: str, address: str) -> str:
    """The report's line of one address ('  done        container.x: …')."""
    return next(line for line in output.splitlines() if line.split()[1:2] == [f"{address}:"] or f" {address}: " in line)


def slow(name: str, seconds: int, extra: str = "") -> str:
    """A container that is healthy only after ``seconds``."""
    command = f'["sh", "-c", "sleep {seconds}; touch /tmp/ready; sleep 300"]'
    made = container(name, command=command, healthcheck="test -f /tmp/ready", extra=extra)
    return made.replace("retries: 2}", "retries: 2, start_period: 30s}")  # failing checks before then are not counted


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_stop_while_a_step_waits_for_its_dependency_leaves_it_not_started_and_blames_no_one(
    state: Path, tmp_path: Path, prefix: str, docker_client: docker.DockerClient, sig: str
) -> None:
    write(state, containers(slow(f"{prefix}-db", 2), container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]")))
    stopped = apply(tmp_path, "container.waiting-dependency", sig)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert f"stopping ({sig}): no new steps start" in stopped.stderr
    assert line_of(stopped.stdout, f"container.{prefix}-db").split()[0] == "done"
    web = line_of(stopped.stdout, f"container.{prefix}-web")
    assert f"not started: apply was interrupted ({sig}) before {prefix}-db was ready" in web
    assert "is not ready" not in stopped.stdout + stopped.stderr  # db is not blamed: it was only starting
    assert absent(docker_client, f"{prefix}-web")
    assert f"apply interrupted by {sig}" in stopped.stderr
    assert not (state / ".reconcile.lock.info").exists()

    left = run_reconcile("plan", "desired_state", cwd=tmp_path)
    assert f"+ container.{prefix}-web" in left.stdout
    assert "Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy" in left.stdout
    again = apply(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert engine(docker_client, f"{prefix}-web")["State"]["Status"] == "running"


def replacing(state: Path, tmp_path: Path, prefix: str, seconds: int) -> None:
    """PREFIX-a-app runs; its environment changes (a replace whose new container is healthy after
    ``seconds``), and PREFIX-b-other is new (created after it, one step at a time)."""
    write(state, containers(slow(f"{prefix}-a-app", 0, "environment: {V: '1'}")))
    assert apply(tmp_path).returncode == 0
    write(
        state,
        containers(slow(f"{prefix}-a-app", seconds, "environment: {V: '2'}"), container(f"{prefix}-b-other")),
    )


def test_a_stop_lets_a_running_replace_end_and_starts_nothing_new(
    state: Path, tmp_path: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    replacing(state, tmp_path, prefix, seconds=2)
    stopped = apply(tmp_path, "container.waiting-healthy")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    app = line_of(stopped.stdout, f"container.{prefix}-a-app")
    assert app.split()[0] == "done" and "replaced" in app, app
    other = line_of(stopped.stdout, f"container.{prefix}-b-other")
    assert "not started: apply was interrupted (SIGTERM)" in other
    assert "V=2" in engine(docker_client, f"{prefix}-a-app")["Config"]["Env"]
    assert absent(docker_client, f"{prefix}-b-other")
    left = run_reconcile("plan", "desired_state", cwd=tmp_path)
    assert "Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy" in left.stdout


def test_a_second_signal_stops_a_running_step_at_once_and_says_so(
    state: Path, tmp_path: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    replacing(state, tmp_path, prefix, seconds=60)
    old_id = engine(docker_client, f"{prefix}-a-app")["Id"]
    said: list[str] = []
    first_stop = threading.Event()
    with subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "desired_state", "--auto-approve", "--parallelism", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "RECONCILE_TEST_SIGNAL_AT": "container.waiting-healthy"},
    ) as process:  # fmt: skip

        def read_stderr() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                said.append(line)
                if "stopping (SIGTERM)" in line:
                    first_stop.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert first_stop.wait(60), "".join(said)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        stdout = process.stdout.read()  # communicate() would read stderr too, taking lines from the reader
        process.wait(60)
        reader.join(10)
    took = time.monotonic() - started
    stderr = "".join(said)
    assert took < 15, f"a second SIGTERM took {took:.1f}s to stop the apply (its healthcheck waits 60s)"
    assert "stopping at once (SIGTERM again)" in stderr, stderr + stdout
    app = line_of(stdout, f"container.{prefix}-a-app")
    assert app.split()[0] == "failed"
    assert "interrupted before the new container became healthy (a second signal (SIGTERM) stopped the apply at once)" in app
    assert "the old container keeps running" in app
    kept = engine(docker_client, f"{prefix}-a-app")
    assert kept["Id"] == old_id and kept["State"]["Status"] == "running"
    assert "not started: apply was interrupted (SIGTERM)" in line_of(stdout, f"container.{prefix}-b-other")


def test_a_restart_loop_fails_its_step_and_its_dependant_never_starts(
    state: Path, tmp_path: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    crashing = '["sh", "-c", "echo token=$$TOKEN; echo cannot open /data: no such directory; exit 3"]'
    db = container(f"{prefix}-db", command=crashing, extra="restart: always\nenvironment: {TOKEN: '${TEST_SECRET}'}")
    (state / "settings.yaml").write_text("settings: {secrets: [TEST_SECRET]}\n")
    write(state, containers(db, container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]")))
    done = apply(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = line_of(done.stdout, f"container.{prefix}-db")
    assert failed.split()[0] == "failed", failed
    assert "exited with code 3 and restart: always restarts it again and again (a restart loop" in failed
    assert "cannot open /data: no such directory" in failed  # its last log lines, bounded
    assert "token=(sensitive)" in failed and SECRET not in done.stdout + done.stderr
    web = line_of(done.stdout, f"container.{prefix}-web")
    assert web.split()[0] == "skipped" and f"container.{prefix}-db, which failed" in web
    assert absent(docker_client, f"{prefix}-web")

    write(
        state,
        containers(
            container(f"{prefix}-db", extra="restart: always"), container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]")
        ),
    )
    fixed = apply(tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert engine(docker_client, f"{prefix}-web")["State"]["Status"] == "running"
    assert engine(docker_client, f"{prefix}-db")["RestartCount"] == 0
