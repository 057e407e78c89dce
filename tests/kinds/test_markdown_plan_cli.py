"""`reconcile plan --format markdown` as CI runs it on a pull request: a state of 300 containers in a
(temporary) git repository gives a comment within GitHub's 65,536 characters that keeps its summary,
names the commit, says when the state has uncommitted changes, and never shows a secret."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import git
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]
SECRET = "s3cr3t-v4lue-never-shown"


def big_state(count: int) -> str:
    lines = ["settings: {secrets: [API_TOKEN]}", "containers:"]
    for index in range(count):
        lines += [
            f"  service-{index:03}:",
            f"    image: {TEST_IMAGE}",
            '    command: [sleep, "300"]',
            "    network_mode: none",
            "    init: true",
            '    environment: {API_TOKEN: "${API_TOKEN}", MODE: production, REGION: eu-central-1}',
            "    labels: {team: ops, tier: backend, owner: platform}",
            '    healthcheck: {test: [CMD-SHELL, "nc -z 127.0.0.1 8080 || exit 1"], interval: 30s, retries: 3}',
            '    logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}',
        ]
    return "\n".join(lines) + "\n"


def test_a_300_container_plan_fits_one_comment_keeps_its_summary_and_names_its_commit(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    repo = git.Repo.init(tmp_path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.invalid")
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "services.yaml").write_text(big_state(300))
    repo.index.add(["desired_state/services.yaml"])
    commit = repo.index.commit("300 services").hexsha
    env = {"API_TOKEN": SECRET, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    plan = run_reconcile("plan", "desired_state", "--format", "markdown", "--out", "plan.json", cwd=tmp_path, env=env)
    assert plan.returncode == 0, plan.stderr
    comment = plan.stdout
    assert len(comment) <= 65_536
    assert "**Plan: 300 to add, 0 to change, 0 to replace, 0 to destroy, 0 blocked.**" in comment
    assert f"at `{commit[:12]}` on `main`." in comment
    assert "uncommitted" not in comment
    assert "are not shown: a comment holds at most 65,536" in comment
    assert SECRET not in comment
    saved = (tmp_path / "plan.json").read_text()
    assert SECRET not in saved
    assert json.loads(saved)["state"]["git"] == {"commit": commit, "branch": "main", "dirty": False}

    (state / "services.yaml").write_text(big_state(2))
    dirty = run_reconcile("plan", "desired_state", "--format", "markdown", cwd=tmp_path, env=env)
    assert "(with uncommitted changes)" in dirty.stdout
    assert "**Plan: 2 to add" in dirty.stdout
    assert "not shown" not in dirty.stdout
