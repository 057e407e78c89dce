"""The resident process (`reconcile daemon`, reconciler/resident/): a command through it prints,
exits and acts as the same command in-process; the client's environment and cwd are the ones used;
a daemon that is stale, killed, or not the user's alone is never used, and the command then runs
in-process saying nothing false; Ctrl-C on the client stops the command as it stops it in-process.

Real processes on the real engine. Whether the daemon ran a command is read from the kernel
(tests/support/resident.py: its children's CPU time), never from reconcile's own output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.kinds.test_containers import absent, container, containers, engine
from tests.support.resident import CLIENT, IN_PROCESS, Daemon, environ, run, running_daemon

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def daemon(docker_host: str) -> Iterator[Daemon]:
    """One daemon for the module, started with an environment and cwd that would fail every command:
    a command that works through it took the client's."""
    wrong = {"DOCKER_HOST": "unix:///nonexistent/daemon-docker.sock", "RECONCILE_STATE_DIR": "/nonexistent", "GREETING": "daemon"}
    with running_daemon(env=wrong, cwd=Path("/")) as running:
        yield running


@pytest.fixture
def work(tmp_path: Path, docker_host: str, docker_client: docker.DockerClient) -> Path:
    (tmp_path / "desired_state").mkdir()
    return tmp_path


def write(work: Path, text: str) -> None:
    (work / "desired_state" / "containers.yaml").write_text(text)


def in_process(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(IN_PROCESS, *args, cwd=work, env=environ(Path("/nonexistent-runtime"), env))


def same(through: subprocess.CompletedProcess[str], here: subprocess.CompletedProcess[str]) -> None:
    assert (through.returncode, through.stdout, through.stderr) == (here.returncode, here.stdout, here.stderr)


def test_plan_apply_and_bad_input_through_the_daemon_print_and_exit_as_in_process(
    daemon: Daemon, work: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(work, containers(container(f"{prefix}-web")))
    for args in (["plan", "desired_state"], ["plan", "desired_state", "--detailed-exitcode"]):
        through, ran = daemon.client(*args, cwd=work)
        assert ran, through.stderr
        same(through, in_process(work, *args))
        assert f"+ container.{prefix}-web" in through.stdout
    assert through.returncode == 2

    applied, ran = daemon.client("apply", "desired_state", "--auto-approve", cwd=work)
    assert ran and applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete: 1 done." in applied.stdout
    assert engine(docker_client, f"{prefix}-web")["State"]["Running"]

    for args in (["plan", "desired_state"], ["plan", "desired_state", "--detailed-exitcode"]):
        through, ran = daemon.client(*args, cwd=work)
        assert ran, through.stderr
        same(through, in_process(work, *args))
        assert through.returncode == 0 and through.stdout.startswith("No changes.")

    (work / "desired_state" / "containers.yaml").write_text(f"containers:\n  {prefix}-web:\n    image: [not, a, string]\n")
    through, ran = daemon.client("plan", "desired_state", cwd=work)
    assert ran
    same(through, in_process(work, "plan", "desired_state"))
    assert through.returncode == 1 and "desired_state/containers.yaml:3:" in through.stdout + through.stderr


def test_the_command_takes_the_clients_environment_and_cwd_not_the_daemons(
    daemon: Daemon, work: Path, prefix: str, docker_host: str
) -> None:
    labelled = container(f"{prefix}-web", extra="labels: {greeting: '${GREETING}'}")
    write(work, containers(labelled))
    env = {"DOCKER_HOST": docker_host, "RECONCILE_STATE_DIR": "desired_state", "GREETING": "client"}
    through, ran = daemon.client("plan", cwd=work, env=env)
    assert ran, through.stderr
    assert through.returncode == 0, through.stdout + through.stderr
    assert 'labels.greeting: "client"' in through.stdout
    assert "daemon" not in through.stdout + through.stderr
    same(through, in_process(work, "plan", env=env))


def test_a_daemon_whose_code_changed_is_not_used_and_stops(work: Path, prefix: str) -> None:
    write(work, containers(container(f"{prefix}-web")))
    with running_daemon() as stale:
        source = Path(__import__("reconciler.resident.place", fromlist=["x"]).__file__ or "")
        before = source.stat()
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        try:
            through, ran = stale.client("plan", "desired_state", cwd=work)
        finally:
            os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert not ran
        same(through, in_process(work, "plan", "desired_state"))
        assert stale.process.wait(30) == 0
        assert "stopped: its code changed" in "".join(stale.said)
        assert not stale.socket.exists()


def test_a_daemon_killed_before_a_command_is_not_used_and_nothing_false_is_said(work: Path, prefix: str) -> None:
    write(work, containers(container(f"{prefix}-web")))
    with running_daemon() as killed:
        killed.stop(signal.SIGKILL)
        assert killed.socket.exists()  # left behind: a stale socket
        through, ran = killed.client("plan", "desired_state", "--detailed-exitcode", cwd=work)
        assert not ran
        same(through, in_process(work, "plan", "desired_state", "--detailed-exitcode"))
        assert through.returncode == 2


def slow_then_web(prefix: str, seconds: int) -> str:
    """PREFIX-db is healthy only after ``seconds``; PREFIX-web depends on it."""
    command = f'["sh", "-c", "sleep {seconds}; touch /tmp/ready; sleep 300"]'
    db = container(f"{prefix}-db", command=command, healthcheck="test -f /tmp/ready")
    db = db.replace("retries: 2}", "retries: 2, start_period: 60s}")
    return containers(db, container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]"))


def client_process(daemon: Daemon, work: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, *args], cwd=work, env=environ(daemon.runtime), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_until_running(client: docker.DockerClient, name: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while absent(client, name) or not engine(client, name)["State"]["Running"]:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)


def test_a_daemon_killed_during_a_command_lets_it_finish_and_the_next_runs_in_process(
    work: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(work, slow_then_web(prefix, 3))
    with running_daemon() as killed:
        process = client_process(killed, work, "apply", "desired_state", "--auto-approve")
        wait_until_running(docker_client, f"{prefix}-db", process)
        killed.stop(signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stdout + stderr
        assert "Apply complete: 2 done." in stdout
        assert "resident" not in stdout + stderr

        through, ran = killed.client("plan", "desired_state", "--detailed-exitcode", cwd=work)
        assert not ran
        same(through, in_process(work, "plan", "desired_state", "--detailed-exitcode"))
        assert through.returncode == 0 and through.stdout.startswith("No changes.")


@pytest.mark.parametrize(("stop", "said"), [("ctrl-c", "SIGINT"), ("kill -9", "SIGTERM")])
def test_a_client_stopped_stops_its_command_as_in_process(
    work: Path, prefix: str, docker_client: docker.DockerClient, stop: str, said: str
) -> None:
    """Ctrl-C on the client is the command's SIGINT; the client killed with kill -9 stops its
    command as SIGTERM does: no new step starts, and the report says so."""
    write(work, slow_then_web(prefix, 5))
    with running_daemon() as daemon:
        process = client_process(daemon, work, "apply", "desired_state", "--auto-approve", "--parallelism", "1")
        wait_until_running(docker_client, f"{prefix}-db", process)  # its step waits for its health (5 s)
        process.send_signal(signal.SIGINT) if stop == "ctrl-c" else process.kill()
        stdout, stderr = process.communicate(timeout=120)  # after kill -9 the pipes stay open until the command ends
        if stop == "ctrl-c":
            assert process.returncode == 1, stdout + stderr
        assert f"stopping ({said}): no new steps start" in stderr
        assert f"apply interrupted by {said}" in stderr
        assert f"container.{prefix}-web: not started: apply was interrupted ({said})" in " ".join(stdout.split())
        assert absent(docker_client, f"{prefix}-web")
        assert daemon.children_cpu_ticks() > 0  # the command ran in the daemon's child


@pytest.mark.parametrize("spoil", ["directory open to others", "socket not the user's"])
def test_a_socket_not_the_users_alone_is_not_used(work: Path, prefix: str, spoil: str) -> None:
    write(work, containers(container(f"{prefix}-web")))
    with running_daemon() as daemon:
        if spoil == "directory open to others":
            daemon.socket.parent.chmod(0o755)
        else:
            os.chown(daemon.socket, 65534, 65534)  # nobody (the tests run as root here)
        through, ran = daemon.client("plan", "desired_state", cwd=work)
        assert not ran
        same(through, in_process(work, "plan", "desired_state"))
        debug, ran = daemon.client("plan", "desired_state", "--debug", cwd=work)
        assert not ran
        expected = "is open to others (mode 0755" if spoil == "directory open to others" else "is not yours (owner uid 65534)"
        assert (
            f"debug: not through the resident process: {daemon.socket.parent if 'directory' in spoil else daemon.socket}"
            in debug.stderr
        )
        assert expected in debug.stderr


def test_sigterm_stops_the_daemon_and_removes_its_socket() -> None:
    with running_daemon() as daemon:
        socket = daemon.socket
        assert socket.exists()
        assert daemon.stop(signal.SIGTERM) == 0
        assert not socket.exists()
        assert "stopped: stopped by SIGTERM" in "".join(daemon.said)


def test_the_daemon_stops_after_its_idle_timeout_and_removes_its_socket() -> None:
    with running_daemon(idle="2s") as daemon:
        assert daemon.process.wait(60) == 0
        assert "stopped: no command for 2 s" in "".join(daemon.said)
        assert not daemon.socket.exists()


def test_a_second_daemon_for_the_same_installation_refuses_to_start(tmp_path: Path) -> None:
    with running_daemon() as first:
        second = run(CLIENT, "daemon", cwd=tmp_path, env=environ(first.runtime))
        assert second.returncode == 1
        assert f"a resident process already listens on {first.socket}" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.process.poll() is None and first.socket.exists()
