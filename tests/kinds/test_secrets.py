"""Compose secrets (issue 27, items 1 and 3), on the real engine: a file's or a variable's value,
or an AWS store's (moto's server), reaches /run/secrets through the Engine API with its owner and
mode; a change plans one replace that names the secret and says only that it changed (an AWS
secret: its new version), apply runs it healthy-first, and the next plan is clean."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import boto3
import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.engine_log import logged_engine
from tests.support.moto_server import MotoServer

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def run_in(client: docker.DockerClient, name: str, *command: str) -> str:
    exec_id = client.api.exec_create(name, list(command))["Id"]
    return client.api.exec_start(exec_id).decode()


def app(name: str, secrets: str, sources: str) -> str:
    """A state with the top-level ``sources`` (YAML lines) and one container mounting ``secrets``."""
    declared = "".join(f"  {line}\n" for line in textwrap.dedent(sources).splitlines())
    return f"secrets:\n{declared}" + textwrap.dedent(f"""\
        containers:
          {name}:
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
            healthcheck: {{test: [CMD-SHELL, 'test -s /run/secrets/db'], interval: 1s, timeout: 1s, retries: 2}}
            secrets: {secrets}
        """)


@pytest.mark.slow
def test_file_and_variable_secrets_reach_run_secrets_and_a_new_value_plans_a_replace_saying_only_changed(
    tmp_path: Path, state: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db.txt").write_text("file-value-one\n")
    name = f"{prefix}-app"
    (state / "state.yaml").write_text(
        app(
            name,
            '[db, {source: token, target: token.txt, uid: "1000", gid: "1001", mode: "0400"}]',
            """\
            db: {file: ../secrets/db.txt}
            token: {environment: APP_TOKEN}
            """,
        )
    )

    def reconcile(*args: str, token: str | None) -> subprocess.CompletedProcess[str]:
        env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), **({"APP_TOKEN": token} if token else {})}
        return run_reconcile(*args, cwd=tmp_path, env=env, timeout=120)

    applied = reconcile("apply", "desired_state", "--auto-approve", token="variable-value-one")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert run_in(docker_client, name, "cat", "/run/secrets/db") == "file-value-one\n"
    assert run_in(docker_client, name, "cat", "/run/secrets/token.txt") == "variable-value-one"
    modes = run_in(docker_client, name, "stat", "-c", "%u %g %a", "/run/secrets/db", "/run/secrets/token.txt").split("\n")
    assert modes[:2] == ["0 0 444", "1000 1001 400"]
    assert reconcile("plan", "desired_state", token="variable-value-one").stdout.startswith("No changes.")
    absent = reconcile("plan", "desired_state", "--format", "json", token=None)  # CI's plan has no secrets
    action = json.loads(absent.stdout)["actions"][0]
    assert (action["action"], action["known_at_apply"]) == ("noop", ["secrets./run/secrets/token.txt"]), absent.stdout

    changed = reconcile("plan", "desired_state", token="variable-value-two")
    assert "secret token at /run/secrets/token.txt changed" in changed.stdout, changed.stdout
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy, 0 blocked." in changed.stdout
    assert "value-two" not in changed.stdout and "value-one" not in changed.stdout
    assert "secret db" not in changed.stdout  # only what changed is named
    applied = reconcile("apply", "desired_state", "--auto-approve", token="variable-value-two")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "replaced" in applied.stdout
    assert run_in(docker_client, name, "cat", "/run/secrets/token.txt") == "variable-value-two"

    (tmp_path / "secrets" / "db.txt").write_text("file-value-two\n")
    changed = reconcile("plan", "desired_state", token="variable-value-two")
    assert "secret db at /run/secrets/db changed" in changed.stdout and "token" not in changed.stdout, changed.stdout
    assert reconcile("apply", "desired_state", "--auto-approve", token="variable-value-two").returncode == 0
    assert run_in(docker_client, name, "cat", "/run/secrets/db") == "file-value-two\n"
    assert reconcile("plan", "desired_state", token="variable-value-two").stdout.startswith("No changes.")

    run_in(docker_client, name, "rm", "/run/secrets/db")  # an app that deletes its secret once read
    gone = reconcile("plan", "desired_state", token="variable-value-two")
    assert "secret db at /run/secrets/db is gone from the container" in gone.stdout, gone.stdout
    assert "value" not in gone.stdout.replace("(value changed)", ""), gone.stdout


@pytest.mark.aws
@pytest.mark.slow
def test_an_aws_secret_rotated_in_the_store_plans_one_replace_naming_its_new_version(
    tmp_path: Path, state: Path, prefix: str, docker_client: docker.DockerClient, aws: MotoServer
) -> None:
    """SSM (a SecureString) and Secrets Manager (one key of a JSON value): plan reads the versions
    only, apply the values; a rotation plans one replace naming the new version, apply runs it, the
    container reads the new value, and the next plan is clean."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    manager = boto3.client("secretsmanager", region_name="us-east-1")
    ssm.put_parameter(Name="/prod/db", Value="ssm-value-v1", Type="SecureString")
    manager.create_secret(Name="prod/api", SecretString=json.dumps({"token": "sm-value-v1", "other": "x"}))
    (tmp_path / ".git").mkdir()
    name = f"{prefix}-app"
    (state / "state.yaml").write_text(
        "aws: {region: us-east-1}\n"
        + app(
            name,
            "[db, api]",
            """\
            db: {aws_ssm: /prod/db}
            api: {aws_secretsmanager: {id: prod/api, key: token}}
            """,
        )
    )

    def reconcile(*args: str) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=120)

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert run_in(docker_client, name, "cat", "/run/secrets/db") == "ssm-value-v1"
    assert run_in(docker_client, name, "cat", "/run/secrets/api") == "sm-value-v1"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")
    no_credentials = {
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }  # fmt: skip
    blind = run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path, env=no_credentials)  # a pull request's
    [action] = [a for a in json.loads(blind.stdout)["actions"] if a["type"] == "container"]
    assert action["action"] == "noop" and "(no AWS credentials now)" in action["reasons"][0], action
    assert "variable without a value" not in blind.stdout, blind.stdout

    ssm.put_parameter(Name="/prod/db", Value="ssm-value-v2", Type="SecureString", Overwrite=True)
    plan = reconcile("plan", "desired_state", "--out", "plan.json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "secret db at /run/secrets/db changed" in plan.stdout, plan.stdout
    assert "/prod/db version 1" in plan.stdout and "/prod/db version 2" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy, 0 blocked." in plan.stdout
    assert "value-v" not in plan.stdout + plan.stderr + (tmp_path / "plan.json").read_text()
    applied = reconcile("apply", "plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert run_in(docker_client, name, "cat", "/run/secrets/db") == "ssm-value-v2"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")

    version = manager.put_secret_value(SecretId="prod/api", SecretString=json.dumps({"token": "sm-value-v2"}))["VersionId"]
    plan = reconcile("plan", "desired_state")
    assert "secret api at /run/secrets/api changed" in plan.stdout and f"version {version}" in plan.stdout, plan.stdout
    assert "secret db" not in plan.stdout
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    assert run_in(docker_client, name, "cat", "/run/secrets/api") == "sm-value-v2"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


@pytest.mark.aws
def test_a_saved_plan_is_stale_when_the_aws_secret_rotated_again_after_it(
    tmp_path: Path, state: Path, prefix: str, aws: MotoServer
) -> None:
    """apply writes the version the plan showed, or nothing."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/prod/db", Value="one", Type="SecureString")
    (tmp_path / ".git").mkdir()
    (state / "state.yaml").write_text("aws: {region: us-east-1}\n" + app(f"{prefix}-app", "[db]", "db: {aws_ssm: /prod/db}\n"))
    assert run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
    ssm.put_parameter(Name="/prod/db", Value="two", Type="SecureString", Overwrite=True)
    assert run_reconcile("plan", "desired_state", "--out", "plan.json", cwd=tmp_path).returncode == 0
    ssm.put_parameter(Name="/prod/db", Value="three", Type="SecureString", Overwrite=True)
    applied = run_reconcile("apply", "plan.json", cwd=tmp_path)
    assert applied.returncode == 1 and "stale plan" in applied.stderr, applied.stdout + applied.stderr


@pytest.mark.aws
@pytest.mark.slow
def test_no_secret_value_appears_in_any_output_plan_file_comment_record_label_or_image(
    tmp_path: Path, state: Path, prefix: str, docker_client: docker.DockerClient, aws: MotoServer
) -> None:
    """The canary: a value from each source (file, variable, SSM, Secrets Manager), before and after
    a rotation, is in the container's files and nowhere else reconcile writes or the engine shows."""
    canaries = {k: f"CANARY-{k}-{prefix}" for k in ("file1", "file2", "env1", "env2", "ssm1", "ssm2", "sm1", "sm2")}
    ssm = boto3.client("ssm", region_name="us-east-1")
    manager = boto3.client("secretsmanager", region_name="us-east-1")
    ssm.put_parameter(Name="/prod/db", Value=canaries["ssm1"], Type="SecureString")
    manager.create_secret(Name="prod/api", SecretString=json.dumps({"token": canaries["sm1"]}))
    (tmp_path / ".git").mkdir()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "tls.key").write_text(canaries["file1"])
    name = f"{prefix}-app"
    (state / "state.yaml").write_text(
        "aws: {region: us-east-1}\n"
        + app(
            name,
            "[db, api, tls, token]",
            """\
            db: {aws_ssm: /prod/db}
            api: {aws_secretsmanager: {id: prod/api, key: token}}
            tls: {file: ../secrets/tls.key}
            token: {environment: APP_TOKEN}
            """,
        )
    )
    said: list[str] = []

    def reconcile(*args: str, token: str) -> None:
        env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "APP_TOKEN": token}
        done = run_reconcile(*args, cwd=tmp_path, env=env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        said.extend([done.stdout, done.stderr])

    def every_format(token: str, suffix: str) -> None:
        for output in ("text", "json", "markdown"):
            reconcile("plan", "desired_state", "--format", output, token=token)
        reconcile("plan", "desired_state", "--out", f"plan{suffix}.json", "--comment", f"comment{suffix}.md", token=token)
        reconcile("apply", f"plan{suffix}.json", "--comment", f"applied{suffix}.md", "--secret", "APP_TOKEN", token=token)

    every_format(canaries["env1"], "1")
    assert run_in(docker_client, name, "cat", "/run/secrets/token") == canaries["env1"]  # the canary is live
    (tmp_path / "secrets" / "tls.key").write_text(canaries["file2"])
    ssm.put_parameter(Name="/prod/db", Value=canaries["ssm2"], Type="SecureString", Overwrite=True)
    manager.put_secret_value(SecretId="prod/api", SecretString=json.dumps({"token": canaries["sm2"]}))
    every_format(canaries["env2"], "2")
    held = run_in(docker_client, name, "cat", "/run/secrets/db", "/run/secrets/api", "/run/secrets/tls", "/run/secrets/token")
    assert held == canaries["ssm2"] + canaries["sm2"] + canaries["file2"] + canaries["env2"]

    written = [p.read_bytes().decode(errors="replace") for p in tmp_path.glob("*.*") if p.is_file()]
    records = [p.read_bytes().decode(errors="replace") for p in state.glob(".reconcile*") if p.is_file()]
    record = docker_client.api.inspect_container(name)
    image = docker_client.api.inspect_image(record["Image"])
    layers = b"".join(docker_client.images.get(record["Image"]).save(named=False)).decode(errors="replace")
    history = json.dumps(docker_client.api.history(record["Image"]))
    everything = {
        "outputs": "\n".join(said), "files written": "\n".join(written), "records": "\n".join(records),
        "container": json.dumps(record), "image": json.dumps(image) + history, "image layers": layers,
    }  # fmt: skip
    assert "secret token at /run/secrets/token changed" in everything["outputs"]  # the outputs were looked at
    assert len(written) >= 4 and records, (written, records)
    for where, text in everything.items():
        for canary in canaries.values():
            assert canary not in text, f"{canary} in {where}"


@pytest.mark.aws
def test_plan_names_an_aws_secret_it_cannot_find_and_needs_no_credentials_to_plan_one(
    tmp_path: Path, state: Path, prefix: str, aws: MotoServer
) -> None:
    """A parameter that does not exist is an error finding at plan (apply could not deliver it); a
    plan without AWS credentials (a pull request's) still plans, the version known at apply."""
    (tmp_path / ".git").mkdir()
    sources = "db: {aws_ssm: {name: /prod/missing, region: us-east-1}}\n"
    (state / "state.yaml").write_text(app(f"{prefix}-app", "[db]", sources))
    plan = run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    findings = json.loads(plan.stdout)["findings"]
    assert [(f["code"], f["severity"]) for f in findings if f["code"].startswith("secret")] == [("secret-unreadable", "error")]
    assert "/prod/missing: not found" in findings[0]["message"] or any("/prod/missing" in f["message"] for f in findings)
    no_credentials = {
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance metadata to ask on this machine
    }  # fmt: skip
    plan = run_reconcile("plan", "desired_state", cwd=tmp_path, env=no_credentials)
    assert plan.returncode == 0 and "1 to add" in plan.stdout, plan.stdout + plan.stderr


def test_a_container_whose_secret_cannot_be_read_back_is_blocked_alone(
    tmp_path: Path, state: Path, prefix: str, docker_host: str, docker_client: docker.DockerClient
) -> None:
    """The engine fails the read of a secret's file back from the container (500): that container is
    blocked with the cause and left as it is, and the container declared beside it is made. Was:
    the whole plan failed (and before that, the failed read looked like an emptied file: a replace)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db.txt").write_text("file-value-one\n")
    name, other = f"{prefix}-app", f"{prefix}-other"
    declared = app(name, "[db]", "db: {file: ../secrets/db.txt}")
    (state / "state.yaml").write_text(declared)
    assert run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
    running = docker_client.api.inspect_container(name)["Id"]
    (state / "state.yaml").write_text(
        declared + f"  {other}:\n    image: {TEST_IMAGE}\n    command: [sleep, '300']\n    network_mode: none\n"
    )

    with logged_engine(docker_host.removeprefix("unix://")) as engine:
        engine.fail("GET", r"^/containers/[^/]+/archive$")
        env = {"DOCKER_HOST": engine.url}
        planned = run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path, env=env)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        actions = {action["address"]: action for action in json.loads(planned.stdout)["actions"]}
        blocked = actions[f"container.{name}"]
        assert (blocked["action"], blocked["reasons"]) == ("noop", [f"container.{name} could not be observed"]), blocked
        assert "cannot read /run/secrets/db back to compare it" in blocked["blocked"]["reason"], blocked
        assert "injected by the test" in blocked["blocked"]["reason"], blocked
        assert actions[f"container.{other}"]["action"] == "create"

        applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path, env=env)
    shown = applied.stdout + applied.stderr
    assert applied.returncode == 1 and "Traceback" not in shown, shown
    assert f"container.{name}" in shown and "could not be observed" in shown, shown
    assert docker_client.api.inspect_container(name)["Id"] == running
    assert docker_client.api.inspect_container(other)["State"]["Running"]
    assert run_reconcile("plan", "desired_state", cwd=tmp_path).stdout.startswith("No changes."), "readable again"
