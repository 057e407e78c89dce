"""`reconcile watch` on the real engine, in a git repository made by the test: metrics on a
loopback port, a stopped container healed with --apply, a commit other than the one last applied
never applied, and SIGTERM ending it with exit 0 and the lock released."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import git
import pytest

from reconciler.apply.lock import StateLock
from tests.support.cli import SCRUBBED, run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def declared(name: str) -> str:
    return textwrap.dedent(f"""\
          {name}:
            image: {TEST_IMAGE}
            command: [sleep, "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
        """)


class Watch:
    """A `reconcile watch` process whose output is read while it runs."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.out, self.err = cwd / "watch.out", cwd / "watch.err"
        environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "watch", *args],
                cwd=cwd, env=environ, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def said(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_for(self, check: Callable[[], bool], what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            assert self.process.poll() is None, f"watch ended early:\n{self.said()}"
            assert time.monotonic() < deadline, f"no {what} within {seconds}s:\n{self.said()}"
            time.sleep(0.2)

    def metrics(self) -> str:
        self.wait_for(lambda: "serving metrics on" in self.said(), "metrics address")
        url = re.search(r"http://127\.0\.0\.1:\d+/metrics", self.said())
        assert url is not None
        with urllib.request.urlopen(url.group(0), timeout=5) as response:
            return str(response.read().decode())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def status(client: docker.DockerClient, name: str) -> str | None:
    """None while it does not exist (the engine is shared: another test's cleanup may remove it,
    and watch then creates it again)."""
    try:
        return str(client.containers.get(name).status)
    except docker.errors.NotFound:
        return None


def value(metrics: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", metrics, flags=re.MULTILINE)
    assert found is not None, f"{name} not in:\n{metrics}"
    return float(found.group(1))


@pytest.fixture
def repository(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[tuple[git.Repo, str]]:
    """A repository whose desired_state declares one container, applied (which records its commit)."""
    name = f"t{uuid.uuid4().hex[:6]}-watched"
    repo = git.Repo.init(tmp_path)
    (tmp_path / ".gitignore").write_text(".reconcile.*\nwatch.*\n")
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "containers.yaml").write_text("containers:\n" + textwrap.indent(declared(name), "  "))
    repo.index.add([".gitignore", "desired_state/containers.yaml"])
    repo.index.commit("the watched state")
    applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    yield repo, name
    repo.close()


def test_watch_heals_a_stopped_container_serves_metrics_and_stops_on_sigterm(
    tmp_path: Path, repository: tuple[git.Repo, str], docker_client: docker.DockerClient
) -> None:
    _, name = repository
    with contextlib.suppress(docker.errors.NotFound):  # removed by another test's cleanup: drift all the same
        docker_client.containers.get(name).stop(timeout=1)
    watch = Watch(tmp_path, "desired_state", "--interval", "1s", "--apply", "--metrics-port", "0")
    try:
        watch.wait_for(lambda: status(docker_client, name) == "running", "heal")
        watch.wait_for(lambda: value(watch.metrics(), "reconcile_drift_resources") == 0, "a plan without drift")
        metrics = watch.metrics()
        assert value(metrics, "reconcile_applied_steps_total") >= 1
        assert value(metrics, "reconcile_apply_failures_total") == 0
        assert value(metrics, "reconcile_unhealthy_containers") == 0
        assert 0 < value(metrics, "reconcile_plan_duration_seconds") < 60
        assert abs(value(metrics, "reconcile_last_plan_timestamp_seconds") - time.time()) < 60
        assert 'reconcile_plan_actions{action="noop"} 1.0' in metrics
        assert f"drift in container.{name} (" in watch.said()
        assert "applied container." in watch.said()
        assert watch.stop() == 0
    finally:
        watch.kill()
    assert "stopped" in watch.said()
    with StateLock(tmp_path / "desired_state", 0, print):
        pass  # released: taken at once


def test_watch_never_applies_a_commit_other_than_the_one_last_applied(
    tmp_path: Path, repository: tuple[git.Repo, str], docker_client: docker.DockerClient
) -> None:
    repo, name = repository
    newcomer = f"{name}-unmerged"
    with (tmp_path / "desired_state" / "containers.yaml").open("a") as state:
        state.write(textwrap.indent(declared(newcomer), "  "))
    watch = Watch(tmp_path, "desired_state", "--interval", "1s", "--apply")
    try:
        watch.wait_for(lambda: "uncommitted changes" in watch.said(), "refusal of a dirty state")
        repo.index.add(["desired_state/containers.yaml"])
        repo.index.commit("an unmerged change")
        watch.wait_for(lambda: "is not the one last applied" in watch.said(), "refusal of another commit")
        assert watch.stop() == 0
    finally:
        watch.kill()
    assert f"container.{newcomer} (create)" in watch.said()
    assert newcomer not in {c.name for c in docker_client.containers.list(all=True)}
