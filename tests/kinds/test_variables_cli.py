"""Variables as CI uses them, against the real engine: validate and plan run without the
application's secret (plan shows "(known at apply)", exit 0), apply without it fails at its place
changing nothing, and the plan saved without it is applied with it, which apply reads then."""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]
SECRET = "Zq-app-secret-never-shown-51c"
NAME = "vars-web"

STATE = f"""\
settings: {{secrets: [APP_SECRET]}}
containers:
  {NAME}:
    image: {TEST_IMAGE}
    command: [sleep, "${{SLEEP_SECONDS}}"]
    network_mode: none
    init: true
    stop_grace_period: 1s
    labels: {{team: $TEAM}}
    environment:
      APP_SECRET: ${{APP_SECRET}}
      MODE: ${{MODE:-fast}}
"""


def test_plan_needs_no_secret_and_apply_reads_it_then(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "containers.yaml").write_text(STATE)
    (state / ".env").write_text("# plain values live beside the state\nSLEEP_SECONDS=300\nexport TEAM='ops'\n")
    without = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with_secret = {**without, "APP_SECRET": SECRET, "RECONCILE_SECRETS": "APP_SECRET"}  # named where apply runs

    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env=env, timeout=120)

    validated = run("validate", "desired_state", env=without)
    assert validated.returncode == 0, validated.stderr
    assert (
        f"desired_state/containers.yaml:11:19: warning: containers.{NAME}.environment.APP_SECRET: APP_SECRET is not set"
        in validated.stderr
    )

    planned = run("plan", "desired_state", "--out", "plan.json", "--detailed-exitcode", env=without)
    assert planned.returncode == 2, planned.stderr  # a create: changes
    assert '+ environment.APP_SECRET: "(known at apply)"' in planned.stdout
    assert '+ command: ["sleep", "300"]' in planned.stdout  # from .env
    assert '+ labels.team: "ops"' in planned.stdout
    assert "not set: APP_SECRET; what uses it is known at apply" in planned.stderr

    refused = run("apply", "desired_state", "--auto-approve", env=without)
    assert refused.returncode == 1
    assert f"desired_state/containers.yaml:11:19: containers.{NAME}.environment.APP_SECRET: APP_SECRET is not set" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert not docker_client.containers.list(all=True, filters={"name": NAME})

    applied = run("apply", "plan.json", env=with_secret)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    env = dict(pair.split("=", 1) for pair in docker_client.api.inspect_container(NAME)["Config"]["Env"])
    assert (env["APP_SECRET"], env["MODE"]) == (SECRET, "fast")

    again = run("plan", "desired_state", "--detailed-exitcode", env=without)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"container.{NAME}: environment.APP_SECRET" in again.stdout  # under "Known at apply"
    for result in (validated, planned, refused, applied, again):
        assert SECRET not in result.stdout + result.stderr
    assert SECRET not in (tmp_path / "plan.json").read_text()
