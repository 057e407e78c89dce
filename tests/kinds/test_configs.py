"""Compose configs (issue 27, item 1's first half), on the real engine: the content travels
through the Engine API into the container before it starts, with its owner and mode; an edit plans
a replace naming the config with a unified diff of it, apply runs the new content, and the next
plan is clean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def run_in(client: docker.DockerClient, name: str, *command: str) -> str:
    exec_id = client.api.exec_create(name, list(command))["Id"]
    return client.api.exec_start(exec_id).decode()


def test_a_config_travels_through_the_api_and_an_edit_plans_a_replace_with_its_diff(
    tmp_path: Path, state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.conf").write_text("workers = 2\nlisten = 8080\n")
    name = f"{prefix}-app"
    (state / "state.yaml").write_text(
        textwrap.dedent(f"""\
        configs:
          app:
            file: ../conf/app.conf
          motd:
            content: "hello from the state\\n"
        containers:
          {name}:
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
            healthcheck: {{test: [CMD-SHELL, 'test -f /etc/app/app.conf'], interval: 1s, timeout: 1s, retries: 2}}
            configs:
              - motd
              - {{source: app, target: /etc/app/app.conf, uid: "1000", gid: "1001", mode: "0440"}}
        """)
    )
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert run_in(docker_client, name, "cat", "/etc/app/app.conf") == "workers = 2\nlisten = 8080\n"
    assert run_in(docker_client, name, "cat", "/motd") == "hello from the state\n"
    assert run_in(docker_client, name, "stat", "-c", "%u %g %a", "/etc/app/app.conf").split() == ["1000", "1001", "440"]
    assert docker_client.api.inspect_container(name)["HostConfig"]["Binds"] in (None, [])  # no file on the host
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")

    (tmp_path / "conf" / "app.conf").write_text("workers = 8\nlisten = 8080\n")
    plan = reconcile("plan", "desired_state")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"-/+ container.{name}" in plan.stdout
    assert "config app at /etc/app/app.conf changed" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy, 0 blocked." in plan.stdout
    markdown = reconcile("plan", "desired_state", "--format", "markdown").stdout
    assert "-workers = 2\n+workers = 8\n" in markdown
    assert "motd" not in plan.stdout  # only what changed is named

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert run_in(docker_client, name, "cat", "/etc/app/app.conf") == "workers = 8\nlisten = 8080\n"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


def test_a_config_file_edited_after_the_plan_makes_the_saved_plan_stale(
    tmp_path: Path, state: Path, reconcile: Reconcile, prefix: str
) -> None:
    """What apply writes into the container is what the plan showed: a config's file is part of the
    state digest, as the YAML files are (the file lives beside the state directory here)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.conf").write_text("reviewed\n")
    (state / "state.yaml").write_text(
        textwrap.dedent(f"""\
        configs:
          app: {{file: ../conf/app.conf}}
        containers:
          {prefix}-app:
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            configs: [app]
        """)
    )
    assert reconcile("plan", "desired_state", "--out", "plan.json").returncode == 0
    (tmp_path / "conf" / "app.conf").write_text("not reviewed\n")
    applied = reconcile("apply", "plan.json")
    assert applied.returncode != 0
    assert "stale plan: the desired state changed" in applied.stderr
