"""`reconcile import` on the real engine: containers made by hand (the docker SDK, no reconcile
labels) → YAML that validate accepts → a plan that adopts them and replaces nothing → apply → no
changes, the very same containers still running. No environment value is ever printed."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.types import LogConfig
from ruamel.yaml import YAML

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE, TEST_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

SECRET = "Zq-import-secret-7c1f"
Reconcile = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def reconcile(tmp_path: Path, docker_client: docker.DockerClient) -> Reconcile:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env=env)

    return run


def make_unmanaged(client: docker.DockerClient, prefix: str) -> dict[str, str]:
    """Two containers as a person makes them: a configured, running one and a stopped one. Name → id."""
    api = client.api
    host_config = api.create_host_config(
        network_mode="none",
        init=True,
        restart_policy={"Name": "unless-stopped"},
        log_config=LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
        mem_limit="64m",
        nano_cpus=500_000_000,
    )
    web = api.create_container(
        TEST_IMAGE,
        ["sh", "-c", "echo $HOME; exec sleep 300"],
        name=f"{prefix}-web",
        labels={**TEST_LABEL, "team": "ops"},
        environment={"API_KEY": SECRET, "MODE": "fast"},
        healthcheck={"test": ["CMD-SHELL", "true"], "interval": 1_000_000_000, "retries": 2},
        user="1000:1000",
        stop_signal="SIGINT",
        stop_timeout=3,
        host_config=host_config,
    )
    api.start(web["Id"])
    idle = client.containers.create(TEST_IMAGE, ["sleep", "300"], name=f"{prefix}-idle", network_mode="none", labels=TEST_LABEL)
    return {f"{prefix}-web": web["Id"], f"{prefix}-idle": str(idle.id)}


def only_mine(text: str, names: set[str]) -> tuple[str, dict[str, tuple[str, str]]]:
    """The imported YAML cut down to this test's containers (the engine is shared), and the
    variables its header asks for: variable → (container, key)."""
    asked = re.findall(r"^#\s+(\w+)\s+\(([\w.-]+): (\w+)\)$", text, flags=re.MULTILINE)
    yaml = YAML()
    document: Any = yaml.load(text)
    for name in [n for n in document["containers"] if n not in names]:
        del document["containers"][name]
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue(), {variable: (container, key) for variable, container, key in asked if container in names}


def test_import_validates_and_adopts_without_replacing_anything(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient
) -> None:
    prefix = f"t{uuid.uuid4().hex[:6]}"
    made = make_unmanaged(docker_client, prefix)

    imported = reconcile("import", "desired_state")
    assert imported.returncode == 0, imported.stderr
    assert SECRET not in imported.stdout + imported.stderr
    text, asked = only_mine(imported.stdout, set(made))
    assert set(asked.values()) == {(f"{prefix}-web", "API_KEY"), (f"{prefix}-web", "MODE")}
    values = {"API_KEY": SECRET, "MODE": "fast"}
    env = {variable: values[key] for variable, (_, key) in asked.items()}
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "imported.yaml").write_text(text)
    assert "$$HOME" in text  # a literal $ is escaped, so the loader reads back what the engine holds

    assert reconcile("validate", "desired_state", env=env).returncode == 0
    targets = [arg for name in sorted(made) for arg in ("--target", f"container.{name}")]
    plan = reconcile("plan", "desired_state", "--detailed-exitcode", *targets, env=env)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy, 0 blocked." in plan.stdout
    assert plan.stdout.count('~ managed: "no" → "adopted"') == 2
    started_at = docker_client.api.inspect_container(f"{prefix}-web")["State"]["StartedAt"]

    applied = reconcile("apply", "desired_state", "--auto-approve", *targets, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = reconcile("plan", "desired_state", "--detailed-exitcode", *targets, env=env)
    assert again.returncode == 0, again.stdout
    for name, container_id in made.items():
        assert docker_client.api.inspect_container(name)["Id"] == container_id  # never recreated
    assert docker_client.api.inspect_container(f"{prefix}-web")["State"]["StartedAt"] == started_at
    assert SECRET not in "".join(r.stdout + r.stderr for r in (plan, applied, again))
