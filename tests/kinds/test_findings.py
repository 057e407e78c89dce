"""Findings on the real engine: a healthcheck that calls what the image lacks is caught before
anything is deployed (read from the image's layers, nothing run), and a container that really
turns unhealthy is reported with its health log's output."""

from __future__ import annotations

import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "desired_state" / "state.yaml").write_text(textwrap.dedent(text))


def test_a_missing_healthcheck_binary_fails_the_plan_before_anything_runs(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient
) -> None:
    name = f"t{uuid.uuid4().hex[:6]}-front"
    write(
        tmp_path,
        f"""\
        containers:
          {name}:
            image: reconciler-demo/frontend:1
            network_mode: none
            init: true
            healthcheck: {{test: ["CMD", "wget", "--spider", "http://localhost:8080/"]}}
        """,
    )
    before = datetime.now(UTC)
    plan = reconcile("plan", "desired_state", "--format", "json")
    time.sleep(1.1)
    assert plan.returncode == 1  # an error finding, and policy_mode is enforce by default
    assert '"code": "healthcheck-binary-missing"' in plan.stdout
    assert "wget" in plan.stdout
    assert "reconciler-demo/frontend:1" in plan.stdout
    stream = docker_client.api.events(since=before, until=datetime.now(UTC), decode=True)
    happened = [(e["Type"], e["Action"]) for e in stream if e.get("timeNano", 0) >= before.timestamp() * 1e9]
    assert [e for e in happened if e[0] == "container"] == []  # nothing created, started or exec'd
    assert {action for _, action in happened} <= {"save"}  # the image was exported (read), nothing else
    text = reconcile("plan", "desired_state")
    assert "error   container." + name + ": healthcheck-binary-missing" in text.stdout
    assert "1 error finding(s) and settings.policy_mode is enforce" in text.stderr


def test_an_image_that_is_not_on_the_host_is_a_warning_not_a_pull(tmp_path: Path, reconcile: Reconcile) -> None:
    write(tmp_path, "containers:\n  web:\n    image: reconciler-test/never-built:1\n    healthcheck: {test: [CMD, 'true']}\n")
    plan = reconcile("plan", "desired_state")
    assert plan.returncode == 0
    assert "warning container.web: image-not-local" in plan.stdout
    assert "warning container.web: healthcheck-cannot-fail: the healthcheck cannot fail (`true` always succeeds" in plan.stdout


def test_a_healthcheck_that_probes_its_dependency_is_caught_from_the_images_expose(tmp_path: Path, reconcile: Reconcile) -> None:
    """db declares no port: the one it listens on comes from its image's EXPOSE, read by the plan."""
    write(
        tmp_path,
        """\
        containers:
          db: {image: reconciler-demo/redis:1, network_mode: host, healthcheck: {test: [CMD-SHELL, "nc -z 127.0.0.1 6379"]}}
          worker:
            image: reconciler-demo/publisher:1
            network_mode: host
            depends_on: [db]
            healthcheck: {test: [CMD-SHELL, "nc -z 127.0.0.1 6379 || exit 1"]}
        """,
    )
    plan = reconcile("plan", "desired_state")
    assert plan.returncode == 0  # a warning
    assert (
        "warning container.worker: healthcheck-probes-other-service: the healthcheck probes 127.0.0.1:6379, which is "
        "db's port (image EXPOSE 6379), not worker" in plan.stdout
    )
    assert "container.db: healthcheck-probes" not in plan.stdout


def test_a_container_that_turns_unhealthy_is_reported_with_its_output(tmp_path: Path, reconcile: Reconcile) -> None:
    name = f"t{uuid.uuid4().hex[:6]}-sick"
    write(
        tmp_path,
        f"""\
        containers:
          {name}:
            image: {TEST_IMAGE}
            command: [sleep, "300"]
            network_mode: none
            init: true
            healthcheck: {{test: [CMD-SHELL, "echo upstream refused; false"], interval: 1s, timeout: 1s, retries: 1}}
        """,
    )
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        plan = reconcile("plan", "desired_state")
        if "unhealthy" in plan.stdout:
            break
        time.sleep(1)
    assert f"warning container.{name}: unhealthy:" in plan.stdout
    assert "last output: upstream refused" in plan.stdout
