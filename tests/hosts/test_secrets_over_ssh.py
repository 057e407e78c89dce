"""Issue 27's done-when on an ssh:// host (a real sshd on 127.0.0.1 in front of the test engine): a
config edit and a secret rotation each plan one replace naming what changed, apply runs it
healthy-first, and the next plan is clean. Nothing is read from a path on the host: both travel
through the Engine API."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.sshd import Sshd, repository_with_ssh_host

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("cleanup_containers")]


def test_a_config_edit_and_a_secret_rotation_each_replace_healthy_first_on_an_ssh_host(
    tmp_path: Path, sshd: Sshd, docker_client: docker.DockerClient
) -> None:
    name = f"s{uuid.uuid4().hex[:6]}-app"
    repository_with_ssh_host(
        tmp_path,
        sshd,
        f"""\
        configs:
          app: {{file: ../conf/app.conf}}
        secrets:
          db: {{environment: DB_PASSWORD}}
        containers:
          {name}:
            host: vps
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
            healthcheck: {{test: [CMD-SHELL, "test -s /run/secrets/db"], interval: 1s, timeout: 1s, retries: 2}}
            configs: [{{source: app, target: /etc/app/app.conf}}]
            secrets: [db]
        """,
    )

    def reconcile(*args: str, password: str) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env={**sshd.env, "DB_PASSWORD": password}, timeout=180)

    def read(path: str) -> str:
        return docker_client.api.exec_start(docker_client.api.exec_create(name, ["cat", path])["Id"]).decode()

    applied = reconcile("apply", "desired_state", "--auto-approve", password="first-password")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert read("/etc/app/app.conf") == "workers = 2\n" and read("/run/secrets/db") == "first-password"
    assert reconcile("plan", "desired_state", password="first-password").stdout.startswith("No changes.")

    (tmp_path / "conf" / "app.conf").write_text("workers = 8\n")
    plan = reconcile("plan", "desired_state", password="first-password")
    assert "config app at /etc/app/app.conf changed" in plan.stdout and "secret db" not in plan.stdout, plan.stdout
    assert "1 to replace" in plan.stdout
    first_id = docker_client.api.inspect_container(name)["Id"]
    applied = reconcile("apply", "desired_state", "--auto-approve", password="first-password")
    assert applied.returncode == 0 and "healthy" in applied.stdout + applied.stderr, applied.stdout + applied.stderr
    assert docker_client.api.inspect_container(name)["Id"] != first_id
    assert read("/etc/app/app.conf") == "workers = 8\n"

    plan = reconcile("plan", "desired_state", password="rotated-password")
    assert "secret db at /run/secrets/db changed" in plan.stdout and "config app" not in plan.stdout, plan.stdout
    assert "1 to replace" in plan.stdout and "password" not in plan.stdout.replace("DB_PASSWORD", "")
    applied = reconcile("apply", "desired_state", "--auto-approve", password="rotated-password")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert read("/run/secrets/db") == "rotated-password"
    assert reconcile("plan", "desired_state", password="rotated-password").stdout.startswith("No changes.")
