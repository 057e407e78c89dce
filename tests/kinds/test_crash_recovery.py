"""Killed at any instant, the next apply finishes the job (the real engine, and moto for buckets
and the S3 backend): kill -9 at named crash points while a temporary replacement container exists
and after the old one was removed, a fresh checkout with an S3 backend after an adoption, and a few
rounds of kill -9 at random instants (bench/crash_loop.py runs 25)."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from reconciler.clients.aws import connect
from tests.support.cli import run_reconcile
from tests.support.crash_loop import Options, crash_rounds
from tests.support.docker_engine import TEST_IMAGE
from tests.support.moto_server import MotoServer

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

RANDOM_ROUNDS = 2  # in the suite (each round is 3 runs of reconcile); bench/crash_loop.py runs 25


@pytest.fixture
def prefix(docker_client: docker.DockerClient) -> Iterator[str]:
    """This test's name prefix; what carries it is removed afterwards (an adopted container has no
    label the shared cleanup knows)."""
    prefix = f"t{uuid.uuid4().hex[:6]}"
    yield prefix
    for container in docker_client.containers.list(all=True, filters={"name": prefix}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def web(prefix: str, seconds: int) -> str:
    return (
        "containers:\n"
        f"  {prefix}-web:\n"
        f"    image: {TEST_IMAGE}\n"
        f'    command: ["sleep", "{seconds}"]\n'
        "    network_mode: none\n"
        "    init: true\n"
        "    stop_grace_period: 1s\n"
        "    healthcheck: {test: [CMD-SHELL, 'true'], interval: 1s, timeout: 1s, retries: 2}\n"
    )


def reconcile(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_reconcile(*args, cwd=tmp_path, env=env)


def mine(docker_client: docker.DockerClient, prefix: str) -> dict[str, dict[str, Any]]:
    """This test's containers by name: their status and command."""
    found = docker_client.api.containers(all=True, filters={"name": prefix})
    return {c["Names"][0].lstrip("/"): {"status": c["State"], "command": c["Command"], "id": c["Id"]} for c in found}


@pytest.mark.parametrize(
    ("point", "left"),
    [("container.replacement-ready", {"web", "web-reconcile-new"}), ("container.old-removed", {"web-reconcile-new"})],
    ids=["beside the old one", "after the old one was removed"],
)
def test_a_replace_killed_mid_way_is_finished_by_the_next_apply(
    tmp_path: Path, docker_client: docker.DockerClient, prefix: str, point: str, left: set[str]
) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "c.yaml").write_text(web(prefix, 300))
    assert reconcile(tmp_path, "apply", "desired_state", "--auto-approve").returncode == 0
    (state / "c.yaml").write_text(web(prefix, 301))
    killed = reconcile(tmp_path, "apply", "desired_state", "--auto-approve", env={"RECONCILE_TEST_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert set(mine(docker_client, prefix)) == {f"{prefix}-{name}" for name in left}

    plan = json.loads(reconcile(tmp_path, "plan", "desired_state", "--format", "json").stdout)
    (action,) = plan["actions"]
    assert action["reasons"][0].startswith(f"recover: {prefix}-web-reconcile-new")
    assert action["changes"][0]["path"] == "recovery"
    assert action["action"] == ("replace" if len(left) == 2 else "update")

    applied = reconcile(tmp_path, "apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    after = mine(docker_client, prefix)
    assert set(after) == {f"{prefix}-web"}
    assert after[f"{prefix}-web"]["status"] == "running" and "301" in after[f"{prefix}-web"]["command"]
    assert reconcile(tmp_path, "plan", "desired_state", "--detailed-exitcode").returncode == 0
    assert json.loads((state / ".reconcile.journal.json").read_text())["intents"] == {}


@pytest.mark.aws
def test_a_fresh_checkout_with_an_s3_backend_plans_clean_after_an_adoption(
    tmp_path: Path, docker_client: docker.DockerClient, prefix: str, aws: MotoServer
) -> None:
    s3 = connect("s3", "us-east-1")
    s3.create_bucket(Bucket="ops-state")
    legacy = docker_client.api.create_container(
        TEST_IMAGE, ["sleep", "300"], name=f"{prefix}-legacy", labels={"team": "ops"},
        host_config=docker_client.api.create_host_config(network_mode="none"),
    )  # fmt: skip
    docker_client.api.start(legacy["Id"])
    applied_dir = tmp_path / "applied" / "desired_state"
    applied_dir.mkdir(parents=True)
    (applied_dir / "s.yaml").write_text(
        "settings: {backend: 's3://ops-state/team-a'}\n"
        f"containers:\n  {prefix}-legacy:\n    image: {TEST_IMAGE}\n    command: [sleep, '300']\n"
        "    network_mode: none\n    labels: {team: ops}\n"
    )
    fresh_dir = tmp_path / "fresh" / "desired_state"
    shutil.copytree(applied_dir, fresh_dir)  # a CI runner's clean checkout, made before any apply

    plan = reconcile(applied_dir.parent, "plan", "desired_state")
    assert '~ managed: "no" → "adopted"' in plan.stdout, plan.stdout + plan.stderr
    applied = reconcile(applied_dir.parent, "apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not list(applied_dir.glob(".reconcile.*"))  # the lock and the records live in S3
    record = json.loads(s3.get_object(Bucket="ops-state", Key="team-a/adopted.json")["Body"].read())
    assert record["adopted"] == {f"local/{legacy['Id']}": f"container.{prefix}-legacy"}

    fresh = reconcile(fresh_dir.parent, "plan", "desired_state", "--detailed-exitcode")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert mine(docker_client, prefix)[f"{prefix}-legacy"]["id"] == legacy["Id"]  # nothing was recreated


@pytest.mark.aws
def test_random_kill_9_rounds_converge(tmp_path: Path, docker_client: docker.DockerClient, prefix: str, aws: MotoServer) -> None:
    s3 = connect("s3", "us-east-1")
    rounds = crash_rounds(tmp_path, prefix, RANDOM_ROUNDS, seed=16, docker_api=docker_client.api, s3=s3, look=False)
    assert [r.problems for r in rounds] == [[]] * RANDOM_ROUNDS


@pytest.mark.aws
@pytest.mark.slow  # 2 rounds of 3 to 5 runs of reconcile each, with EC2 and the S3 backend: ~1 minute
def test_random_kill_9_rounds_converge_with_an_s3_backend_and_ec2_instances(
    tmp_path: Path, docker_client: docker.DockerClient, prefix: str, aws: MotoServer
) -> None:
    s3, ec2 = connect("s3", "us-east-1"), connect("ec2", "us-east-1")
    rounds = crash_rounds(
        tmp_path, prefix, RANDOM_ROUNDS, seed=24, docker_api=docker_client.api, s3=s3, look=False,
        options=Options(backend=True, instances=True), ec2=ec2,
    )  # fmt: skip
    assert [r.problems for r in rounds] == [[]] * RANDOM_ROUNDS


def test_a_damaged_adoption_record_stops_the_plan_naming_it_never_unmanaged(
    tmp_path: Path, docker_client: docker.DockerClient, prefix: str
) -> None:
    legacy = docker_client.api.create_container(
        TEST_IMAGE, ["sleep", "300"], name=f"{prefix}-legacy", labels={"team": "ops"},
        host_config=docker_client.api.create_host_config(network_mode="none"),
    )  # fmt: skip
    docker_client.api.start(legacy["Id"])
    state = tmp_path / "desired_state"
    state.mkdir()
    declared = f"containers:\n  {prefix}-legacy:\n    image: {TEST_IMAGE}\n    command: [sleep, 'SECONDS']\n"
    declared += "    network_mode: none\n    labels: {team: ops}\n"
    (state / "s.yaml").write_text(declared.replace("SECONDS", "300"))
    adopted = reconcile(tmp_path, "apply", "desired_state", "--auto-approve")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    record = state / ".reconcile.adopted.json"
    record.write_bytes(record.read_bytes()[:-7])  # cut short, as a crash mid-write leaves a file
    (state / "s.yaml").write_text(declared.replace("SECONDS", "301"))  # a change that replaces the adopted container

    plan = reconcile(tmp_path, "plan", "desired_state")
    assert plan.returncode == 1 and "Traceback" not in plan.stderr, plan.stdout + plan.stderr
    assert "the record desired_state/.reconcile.adopted.json is damaged (not JSON" in plan.stderr
    assert "adopt the containers again (`reconcile import`, then apply)" in plan.stderr
    assert "not managed by reconcile" not in plan.stdout
    assert mine(docker_client, prefix)[f"{prefix}-legacy"]["id"] == legacy["Id"]
