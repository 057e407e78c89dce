"""Bind mounts from the repository are part of what runs (issue 27, item 2), on the real engine:
an edit to a bind-mounted file plans a replace naming it, apply makes the container run it, and
the next plan is clean; a file outside the repository is never read."""

from __future__ import annotations

import textwrap
from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def declare(state: Path, name: str, *volumes: str) -> None:
    mounts = "".join(f"\n      - {volume}" for volume in volumes)
    (state / "containers.yaml").write_text(
        textwrap.dedent(f"""\
        containers:
          {name}:
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
            healthcheck: {{test: [CMD-SHELL, 'test -f /etc/app/app.conf'], interval: 1s, timeout: 1s, retries: 2}}
            volumes:""")
        + mounts
        + "\n"
    )


def read_in(client: docker.DockerClient, name: str, path: str) -> str:
    exec_id = client.api.exec_create(name, ["cat", path])["Id"]
    return client.api.exec_start(exec_id).decode()


def test_an_edited_bind_mounted_file_plans_a_replace_naming_it(
    tmp_path: Path, state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    """The repository: tmp_path (a .git directory), with desired_state/ and conf/ side by side."""
    (tmp_path / ".git").mkdir()
    name = f"{prefix}-app"
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "app.conf").write_text("workers = 2\n")
    (conf / "routes").mkdir()
    (conf / "routes" / "a.txt").write_text("route: a\n")
    declare(state, name, "../conf/app.conf:/etc/app/app.conf:ro", "../conf/routes:/etc/app/routes:ro")
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")
    old_id = docker_client.api.inspect_container(name)["Id"]

    (conf / "app.conf").write_text("workers = 8\n")
    plan = reconcile("plan", "desired_state")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"-/+ container.{name}" in plan.stdout
    assert "conf/app.conf" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy, 0 blocked." in plan.stdout
    assert "routes" not in plan.stdout  # only what changed is named

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert docker_client.api.inspect_container(name)["Id"] != old_id
    assert read_in(docker_client, name, "/etc/app/app.conf") == "workers = 8\n"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")

    (conf / "routes" / "b.txt").write_text("route: b\n")  # a new file in a mounted directory
    plan = reconcile("plan", "desired_state")
    assert f"-/+ container.{name}" in plan.stdout
    assert "conf/routes/b.txt" in plan.stdout


def test_a_bind_source_outside_the_repository_is_not_hashed(
    tmp_path: Path, state: Path, reconcile: Reconcile, prefix: str
) -> None:
    """The repository here is tmp_path (a .git directory marks it). A host path elsewhere is the
    host's business, also when a link inside the repository leads to it: an edit there plans nothing."""
    (tmp_path / ".git").mkdir()
    outside = tmp_path.parent / f"{prefix}-host-conf"
    outside.mkdir()
    (outside / "app.conf").write_text("host = 1\n")
    (state / "linked").symlink_to(outside)
    name = f"{prefix}-app"
    declare(state, name, f"{outside}/app.conf:/etc/app/app.conf:ro", "./linked:/etc/app/linked:ro")
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr

    (outside / "app.conf").write_text("host = 2\n")
    plan = reconcile("plan", "desired_state")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.startswith("No changes."), plan.stdout


def test_a_bind_mounted_file_edited_after_the_plan_makes_the_saved_plan_stale(
    tmp_path: Path, state: Path, reconcile: Reconcile, prefix: str
) -> None:
    """The replace a reviewer approved names the content it runs: an edit after the plan is not applied unseen."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.conf").write_text("v1\n")
    declare(state, f"{prefix}-app", "../conf/app.conf:/etc/app/app.conf:ro")
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    (tmp_path / "conf" / "app.conf").write_text("v2 (reviewed)\n")
    assert reconcile("plan", "desired_state", "--out", "plan.json").returncode == 0
    (tmp_path / "conf" / "app.conf").write_text("v3 (not reviewed)\n")
    applied = reconcile("apply", "plan.json")
    assert applied.returncode != 0
    assert f"stale plan: changed since the plan was made: container.{prefix}-app" in applied.stderr
