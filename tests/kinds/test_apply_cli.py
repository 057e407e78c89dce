"""`reconcile apply` as a user calls it: `--debug` after the command as before it, and a saved
plan's summary counting only what that plan applies."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest

from tests.kinds.test_containers import container, containers, engine, write
from tests.support.cli import run_reconcile

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def test_debug_is_taken_after_the_command_too(tmp_path: Path) -> None:
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "settings.yaml").write_text("settings: {parallelism: 2}\n")
    for args in (("apply", "--debug", "desired_state", "--auto-approve"), ("plan", "desired_state", "--debug")):
        done = run_reconcile(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "No such option" not in done.stderr


def test_a_saved_plan_counts_only_the_actions_it_applies(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    prefix = f"t{uuid.uuid4().hex[:6]}"
    state = tmp_path / "desired_state"
    state.mkdir()
    write(state, containers(container(f"{prefix}-a")))
    assert run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
    write(state, containers(container(f"{prefix}-a"), container(f"{prefix}-b")))
    assert run_reconcile("plan", "desired_state", "--out", "plan.json", cwd=tmp_path).returncode == 0
    docker_client.api.stop(f"{prefix}-a", timeout=2)  # drift after the plan: not in it, so not applied by it

    applied = run_reconcile("apply", "plan.json", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy, 0 blocked." in applied.stdout
    assert "Apply complete: 1 done." in applied.stdout
    assert engine(docker_client, f"{prefix}-a")["State"]["Status"] == "exited"
