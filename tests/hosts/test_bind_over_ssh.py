"""A bind mount from the repository on a host reached over SSH (a real sshd on 127.0.0.1): the
path exists only where reconcile runs, and the engine there would mount an empty directory, so
plan fails with an error finding that names the file and says to declare it under configs:."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.sshd import Sshd, repository_with_ssh_host

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def test_a_repository_bind_source_on_an_ssh_host_is_an_error_finding(tmp_path: Path, sshd: Sshd) -> None:
    name = f"s{uuid.uuid4().hex[:6]}-app"
    repository_with_ssh_host(
        tmp_path,
        sshd,
        f"""\
        containers:
          {name}:
            host: vps
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            healthcheck: {{test: [CMD-SHELL, "test -d /tmp"], interval: 1s, timeout: 1s, retries: 2}}
            volumes:
              - ../conf/app.conf:/etc/app/app.conf:ro
              - /etc/hostname:/etc/app/hostname:ro
        """,
    )
    plan = run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path, env=sshd.env, timeout=120)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    findings = [f for f in json.loads(plan.stdout)["findings"] if f["code"] == "bind-from-repository-on-remote-host"]
    assert len(findings) == 1, plan.stdout
    assert findings[0]["severity"] == "error"
    assert findings[0]["address"] == f"container.{name}"
    assert "conf/app.conf" in findings[0]["message"] and "hostname" not in findings[0]["message"]
    assert "configs:" in findings[0]["remedy"]


def test_a_config_travels_to_an_ssh_host_through_the_engine_api(
    tmp_path: Path, sshd: Sshd, docker_client: docker.DockerClient
) -> None:
    """The remedy works: the same file declared under configs: reaches the container on the ssh://
    host (the engine is the shared one, reached through a real sshd), and an edit plans its replace."""
    name = f"s{uuid.uuid4().hex[:6]}-app"
    repository_with_ssh_host(
        tmp_path,
        sshd,
        f"""\
        configs:
          app: {{file: ../conf/app.conf}}
        containers:
          {name}:
            host: vps
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
            healthcheck: {{test: [CMD-SHELL, "test -f /etc/app/app.conf"], interval: 1s, timeout: 1s, retries: 2}}
            configs: [{{source: app, target: /etc/app/app.conf}}]
        """,
    )

    def reconcile(*args: str) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env=sshd.env, timeout=120)

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    exec_id = docker_client.api.exec_create(name, ["cat", "/etc/app/app.conf"])["Id"]
    assert docker_client.api.exec_start(exec_id).decode() == "workers = 2\n"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")
    (tmp_path / "conf" / "app.conf").write_text("workers = 8\n")
    plan = reconcile("plan", "desired_state")
    assert "config app at /etc/app/app.conf changed" in plan.stdout and "+workers = 8" in plan.stdout, plan.stdout
