"""Two states (two directories, different settings.name) on one Docker engine and one AWS account
(moto), as two teams run them: each sees and changes only its own; a name the other holds is a
blocked create naming it; a legacy container or bucket (made before state names) is claimed in place
by the state that declares it and left alone by one that does not."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest

from reconciler.clients.aws import connect
from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.moto_server import MotoServer

pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.usefixtures("cleanup_containers")]


def container(name: str) -> str:
    return f"  {name}: {{image: {TEST_IMAGE}, command: [sleep, '300'], network_mode: none, stop_grace_period: 1s}}\n"


def write_state(directory: Path, name: str, containers: list[str], buckets: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = f"settings: {{name: {name}}}\naws: {{region: us-east-1}}\n"
    text += "containers:\n" + "".join(container(c) for c in containers) if containers else ""
    text += "s3_buckets:\n" + "".join(f"  {b}: {{region: us-east-1, protect: false}}\n" for b in buckets) if buckets else ""
    (directory / "state.yaml").write_text(text)


def reconcile(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_reconcile(*args, str(directory), cwd=directory.parent)


def plan_json(directory: Path) -> dict[str, Any]:
    planned = reconcile(directory, "plan", "--format", "json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    return json.loads(planned.stdout)  # type: ignore[no-any-return]


def changes(plan: dict[str, Any]) -> dict[str, str]:
    return {a["address"]: a["action"] for a in plan["actions"] if a["action"] != "noop" or a["blocked"]}


def state_tag(s3: Any, bucket: str) -> str | None:
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    return tags.get("reconciler:state")


def test_two_states_side_by_side_never_touch_each_other(
    tmp_path: Path, docker_client: docker.DockerClient, aws: MotoServer
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    blue, green = tmp_path / "blue", tmp_path / "green"
    write_state(blue, "blue", [f"{p}-a1", f"{p}-a2"], [f"{p}-blue"])
    write_state(green, "green", [f"{p}-b1"], [f"{p}-green"])
    for directory in (blue, green):
        applied = reconcile(directory, "apply", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
    for directory in (blue, green):
        planned = reconcile(directory, "plan", "--detailed-exitcode")
        assert planned.returncode == 0, planned.stdout  # each plans clean beside the other
    assert docker_client.api.inspect_container(f"{p}-a1")["Config"]["Labels"]["reconciler.state"] == "blue"
    s3 = connect("s3", "us-east-1")
    assert (state_tag(s3, f"{p}-blue"), state_tag(s3, f"{p}-green")) == ("blue", "green")
    green_id = docker_client.api.inspect_container(f"{p}-b1")["Id"]

    write_state(blue, "blue", [f"{p}-a1"], [])  # blue drops a container and its (empty, unprotected) bucket
    applied = reconcile(blue, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Plan: 0 to add, 0 to change, 0 to replace, 2 to destroy, 0 blocked." in applied.stdout
    assert f"{p}-blue" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert reconcile(green, "plan", "--detailed-exitcode").returncode == 0  # green: nothing touched
    assert docker_client.api.inspect_container(f"{p}-b1")["Id"] == green_id

    write_state(blue, "blue", [f"{p}-a1", f"{p}-b1"], [f"{p}-green"])  # green's names, declared in blue
    applied = reconcile(blue, "apply", "--auto-approve")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy, 2 blocked." in applied.stdout
    assert applied.stdout.count("belongs to state green") >= 2, applied.stdout
    record = docker_client.api.inspect_container(f"{p}-b1")
    assert (record["Id"], record["State"]["Status"], record["Config"]["Labels"]["reconciler.state"]) == (
        green_id,
        "running",
        "green",
    )
    assert state_tag(s3, f"{p}-green") == "green"


def make_legacy_container(client: docker.DockerClient, name: str) -> str:
    """A container as reconcile made it before state names: our marker labels, no reconciler.state."""
    labels = {"reconciler.managed": "true", "reconciler.address": f"container.{name}", "reconciler.host": "local"}
    host_config = client.api.create_host_config(network_mode="none")
    made = client.api.create_container(
        TEST_IMAGE, ["sleep", "300"], name=name, labels=labels, stop_timeout=1, host_config=host_config
    )
    client.api.start(made["Id"])
    return str(made["Id"])


def make_legacy_bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    tags = [{"Key": "reconciler:address", "Value": f"s3_bucket.{name}"}, {"Key": "reconciler:protect", "Value": "false"}]
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    flags = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=flags)  # as reconcile configured it
    sse = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=sse)


def test_legacy_resources_are_claimed_in_place_by_the_declaring_state_and_never_deleted_by_another(
    tmp_path: Path, docker_client: docker.DockerClient, aws: MotoServer
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    s3 = connect("s3", "us-east-1")
    old_id = make_legacy_container(docker_client, f"{p}-old")
    stray_id = make_legacy_container(docker_client, f"{p}-stray")
    make_legacy_bucket(s3, f"{p}-old")
    make_legacy_bucket(s3, f"{p}-stray")  # empty and unprotected: a delete would go through
    blue = tmp_path / "blue"
    write_state(blue, "blue", [f"{p}-old"], [f"{p}-old"])

    plan = plan_json(blue)
    assert plan["state"]["name"] == "blue"
    assert changes(plan) == {f"container.{p}-old": "update", f"s3_bucket.{p}-old": "update"}, plan["actions"]
    claims = {a["address"]: a["changes"] for a in plan["actions"] if a["action"] == "update"}
    assert claims == {
        f"container.{p}-old": [{"path": "owner", "before": None, "after": "blue"}],  # nothing else: not replaced
        f"s3_bucket.{p}-old": [{"path": "tags.reconciler:state", "before": None, "after": "blue"}],
    }
    applied = reconcile(blue, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert reconcile(blue, "plan", "--detailed-exitcode").returncode == 0
    assert docker_client.api.inspect_container(f"{p}-old")["Id"] == old_id  # claimed, not recreated
    assert state_tag(s3, f"{p}-old") == "blue"
    assert docker_client.api.inspect_container(f"{p}-stray")["Id"] == stray_id  # no state declares it: left alone
    assert state_tag(s3, f"{p}-stray") is None

    write_state(blue, "blue", [f"{p}-new"], [])  # claimed, they are blue's: dropping them deletes them, not the strays
    assert changes(plan_json(blue)) == {
        f"container.{p}-new": "create",
        f"container.{p}-old": "delete",
        f"s3_bucket.{p}-old": "delete",
    }


def write_network_state(directory: Path, name: str, networks: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = f"settings: {{name: {name}}}\nhosts: {{local: {{}}}}\n"  # declared: a state of no resource still looks
    text += (
        "networks:\n" + "".join(f"  {n}: {{labels: {{team: {name}}}}}\n" for n in networks) if networks else "containers: {}\n"
    )
    (directory / "state.yaml").write_text(text)


def test_another_states_network_is_never_planned_and_a_declaration_of_it_is_blocked(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    blue, green = tmp_path / "blue", tmp_path / "green"
    write_network_state(blue, "blue", [f"{p}-front"])
    applied = reconcile(blue, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    write_network_state(green, "green", [f"{p}-back"])  # blue's network is not green's to delete
    assert changes(plan_json(green)) == {f"network.{p}-back": "create"}
    assert docker_client.api.inspect_network(f"{p}-front")["Labels"]["reconciler.state"] == "blue"
    applied = reconcile(green, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert docker_client.networks.list(names=[f"{p}-front"])

    write_network_state(green, "green", [])
    assert changes(plan_json(green)) == {f"network.{p}-back": "delete"}

    write_network_state(green, "green", [f"{p}-front"])  # green declares blue's: a blocked create naming blue
    plan = plan_json(green)
    (action,) = [a for a in plan["actions"] if a["address"] == f"network.{p}-front"]
    assert (action["action"], action["blocked"]["reason"].split(" (")[0]) == (
        "create", f"network {p}-front belongs to state blue",
    )  # fmt: skip
    assert reconcile(blue, "plan", "--detailed-exitcode").returncode == 0  # blue: still its own, unchanged


def test_removing_the_last_container_and_network_of_a_state_without_hosts_deletes_them(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    p = f"t{uuid.uuid4().hex[:6]}"
    state = tmp_path / "solo"
    state.mkdir()
    (state / "state.yaml").write_text(f"networks:\n  {p}-net: {{}}\ncontainers:\n" + container(f"{p}-last"))
    applied = reconcile(state, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr

    (state / "state.yaml").write_text("containers: {}\n")  # no hosts: section, nothing declared any more
    assert changes(plan_json(state)) == {f"container.{p}-last": "delete", f"network.{p}-net": "delete"}
    applied = reconcile(state, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not docker_client.containers.list(all=True, filters={"name": f"^{p}-last$"})
    assert not docker_client.networks.list(names=[f"{p}-net"])
