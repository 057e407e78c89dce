"""Issue 23, item 2, against the real engine: a variable that had no value at plan gains one at apply
only when apply's environment names it an application secret (RECONCILE_SECRETS / --secret) — a
pull request that declares a name in settings.secrets, or uses a plain one, gains nothing; the plan
names the secrets each container receives (never their values); a name that says secret is
sensitive unless settings.plain lists it; a stale plan's comment shows no value the plan did not have."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]
PRODUCTION = "Zq-production-only-value-93d1"
NAME = "trust-web"


def container(environment: str, labels: str = "{}") -> str:
    return f"""\
containers:
  {NAME}:
    image: {TEST_IMAGE}
    command: [sleep, "300"]
    network_mode: none
    init: true
    stop_grace_period: 1s
    labels: {labels}
    environment: {environment}
"""


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_reconcile(*args, cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})}, timeout=120)


def state(tmp_path: Path, text: str) -> None:
    (tmp_path / "desired_state").mkdir(exist_ok=True)
    (tmp_path / "desired_state" / "state.yaml").write_text(text)


def environment_of(docker_client: docker.DockerClient) -> dict[str, str]:
    found = docker_client.api.inspect_container(NAME)["Config"]["Env"]
    return dict(item.split("=", 1) for item in found)


def test_only_an_application_secret_gains_a_value_at_apply(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    declared = "settings: {secrets: [PROD_DB_URL]}\n"
    state(tmp_path, declared + container("{DB: '${PROD_DB_URL}', NOTE: '${DEPLOY_NOTE:-none}', BUILD: '${BUILD_ID}'}"))
    planned = run(tmp_path, "plan", "desired_state", "--out", "plan.json")
    assert planned.returncode == 0, planned.stderr
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert saved["state"]["known_at_apply"] == ["PROD_DB_URL", "BUILD_ID"]
    assert saved["actions"][0]["secrets"] == ["PROD_DB_URL"]

    production = {"PROD_DB_URL": PRODUCTION, "DEPLOY_NOTE": PRODUCTION, "BUILD_ID": PRODUCTION}
    refused = run(tmp_path, "apply", "plan.json", env={**production, "RECONCILE_SECRETS": "PROD_DB_URL,BUILD_ID"})
    assert refused.returncode == 1  # BUILD_ID is named where apply runs, but the plan showed it as no secret
    assert (
        f"desired_state/state.yaml:10:78: containers.{NAME}.environment.BUILD: BUILD_ID is not set "
        "(it had no value when the plan was made: at apply a variable gains one only as a secret the plan named"
    ) in refused.stderr, refused.stderr
    declared_only = run(tmp_path, "apply", "plan.json", env={**production, "RECONCILE_SECRETS": "BUILD_ID"})
    assert declared_only.returncode == 1  # PROD_DB_URL is declared by the YAML, not named where apply runs
    assert "PROD_DB_URL is not set (it had no value when the plan was made" in declared_only.stderr
    assert not docker_client.containers.list(all=True, filters={"name": NAME})

    state(tmp_path, declared + container("{DB: '${PROD_DB_URL}', NOTE: '${DEPLOY_NOTE:-none}'}"))
    assert run(tmp_path, "plan", "desired_state", "--out", "plan.json").returncode == 0
    applied = run(tmp_path, "apply", "plan.json", "--secret", "PROD_DB_URL", env=production)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert environment_of(docker_client)["DB"] == PRODUCTION
    assert environment_of(docker_client)["NOTE"] == "none"  # DEPLOY_NOTE had no value at plan: it gains none
    assert PRODUCTION not in applied.stdout + applied.stderr


def test_a_bare_secret_key_gains_no_value_unless_named_where_apply_runs(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    state(tmp_path, "settings: {secrets: [PROD_DB_URL]}\n" + container("{PROD_DB_URL: null}"))
    assert run(tmp_path, "plan", "desired_state", "--out", "plan.json").returncode == 0
    refused = run(tmp_path, "apply", "plan.json", env={"PROD_DB_URL": PRODUCTION})
    assert refused.returncode == 1
    assert f"containers.{NAME}.environment.PROD_DB_URL: PROD_DB_URL is not set (it had no value when the plan was made" in (
        refused.stderr
    )
    assert not docker_client.containers.list(all=True, filters={"name": NAME})
    applied = run(tmp_path, "apply", "plan.json", env={"PROD_DB_URL": PRODUCTION, "RECONCILE_SECRETS": "PROD_DB_URL"})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert environment_of(docker_client)["PROD_DB_URL"] == PRODUCTION


def test_the_plan_names_each_containers_secrets_and_a_name_that_says_secret_is_one(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    state(
        tmp_path,
        "settings: {secrets: [REDIS_AUTH], plain: [SORT_KEY]}\n"
        + container("{A: '${REDIS_AUTH}', B: '${STRIPE_API_TOKEN}', C: '${SORT_KEY}', D: '${PLAIN_NOTE}'}"),
    )
    env = {"REDIS_AUTH": PRODUCTION, "STRIPE_API_TOKEN": PRODUCTION + "-t", "SORT_KEY": "created_at", "PLAIN_NOTE": "hello"}
    planned = run(tmp_path, "plan", "desired_state", "--format", "json", env=env)
    assert planned.returncode == 0, planned.stderr
    action = json.loads(planned.stdout)["actions"][0]
    assert action["secrets"] == ["REDIS_AUTH", "STRIPE_API_TOKEN"]
    shown = {change["path"]: change["after"] for change in action["changes"]}
    assert shown["environment.A"] == shown["environment.B"] == "(sensitive)"
    assert (shown["environment.C"], shown["environment.D"]) == ("created_at", "hello")
    text = run(tmp_path, "plan", "desired_state", env=env)
    markdown = run(tmp_path, "plan", "desired_state", "--format", "markdown", env=env)
    assert "secrets: REDIS_AUTH, STRIPE_API_TOKEN" in text.stdout
    assert "**Secrets** (from apply's environment): `REDIS_AUTH`, `STRIPE_API_TOKEN`" in markdown.stdout
    for done in (planned, text, markdown):
        assert PRODUCTION not in done.stdout + done.stderr

    state(tmp_path, container("{}", labels="{build: '${GIT_TOKEN}'}"))  # a name that says secret, in a label
    refused = run(tmp_path, "plan", "desired_state", env={"GIT_TOKEN": PRODUCTION})
    assert refused.returncode == 1
    assert f"containers.{NAME}.labels.build: this value uses a secret" in refused.stderr
    assert PRODUCTION not in refused.stdout + refused.stderr


def test_a_stale_plans_comment_shows_no_value_the_plan_did_not_have(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    state(tmp_path, container("{NOTE: '${DEPLOY_NOTE}'}"))
    assert run(tmp_path, "plan", "desired_state", "--out", "plan.json").returncode == 0
    state(tmp_path, container("{NOTE: '${DEPLOY_NOTE}', MORE: '${DEPLOY_NOTE}-2'}"))  # merged after the review
    refused = run(
        tmp_path, "apply", "plan.json", "--comment", "comment.md",
        env={"DEPLOY_NOTE": PRODUCTION, "RECONCILE_SECRETS": "DEPLOY_NOTE"},
    )  # fmt: skip
    assert refused.returncode == 1
    body = (tmp_path / "comment.md").read_text()
    assert "the reviewed plan is stale" in body and f"+ container.{NAME}" in body
    assert "(known at apply)" in body
    assert PRODUCTION not in body + refused.stdout + refused.stderr
    assert not docker_client.containers.list(all=True, filters={"name": NAME})
