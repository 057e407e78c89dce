"""on_unhealthy: restart on the real engine: apply restarts a container that really turned unhealthy
(and sees it healthy again), and the flap budget stops a restart loop from hiding a broken check."""

from __future__ import annotations

import re
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

# Unhealthy after its first start; a restart (the same writable layer) finds /tmp/started and heals.
HEALS_ON_RESTART = "test -f /tmp/started && touch /tmp/ok; touch /tmp/started; exec sleep 300"


def write(tmp_path: Path, name: str, command: str, check: str, budget: int = 3) -> None:
    (tmp_path / "desired_state" / "state.yaml").write_text(
        textwrap.dedent(f"""\
        containers:
          {name}:
            image: {TEST_IMAGE}
            command: [sh, -c, "{command}"]
            network_mode: none
            init: true
            healthcheck: {{test: [CMD-SHELL, "{check}"], interval: 1s, timeout: 1s, retries: 1}}
            on_unhealthy: restart
            unhealthy_restarts_per_hour: {budget}
        """)
    )


def plan_once_unhealthy(reconcile: Reconcile, name: str) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 20
    while True:
        plan = reconcile("plan", "desired_state", "--detailed-exitcode")
        if "unhealthy" in plan.stdout or time.monotonic() > deadline:
            return plan
        time.sleep(0.5)


def test_apply_restarts_an_unhealthy_container_and_sees_it_healthy_again(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient
) -> None:
    name = f"t{uuid.uuid4().hex[:6]}-flaky"
    write(tmp_path, name, HEALS_ON_RESTART, "test -f /tmp/ok || { echo not ready; exit 1; }")
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    first_start = docker_client.containers.get(name).attrs["State"]["StartedAt"]

    plan = plan_once_unhealthy(reconcile, name)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert f"~ container.{name}" in plan.stdout
    assert re.search(r"unhealthy: restart \(\d+ failing checks? in a row; last output: not ready\)", plan.stdout)

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "restarted (it was unhealthy; healthy again)" in applied.stdout
    container = docker_client.containers.get(name)
    assert container.attrs["State"]["StartedAt"] != first_start
    assert container.attrs["State"]["Health"]["Status"] == "healthy"
    assert reconcile("plan", "desired_state", "--detailed-exitcode").returncode == 0


def test_past_the_flap_budget_the_restart_is_blocked_with_the_count_and_the_output(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient
) -> None:
    name = f"t{uuid.uuid4().hex[:6]}-broken"
    write(tmp_path, name, "exec sleep 300", "echo upstream refused; false", budget=1)
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    assert "unhealthy: restart" in plan_once_unhealthy(reconcile, name).stdout

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1
    assert "restarted because it was unhealthy, and it is still not healthy" in applied.stdout + applied.stderr

    blocked = plan_once_unhealthy(reconcile, name)
    assert blocked.returncode == 2
    assert "unhealthy, and restarted once in the last hour already (budget: 1 an hour)" in blocked.stdout
    assert "last health output: upstream refused" in blocked.stdout
    restarted_at = docker_client.containers.get(name).attrs["State"]["StartedAt"]
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 1  # blocked: nothing restarted
    assert docker_client.containers.get(name).attrs["State"]["StartedAt"] == restarted_at
