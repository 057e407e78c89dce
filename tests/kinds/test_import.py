"""`reconcile import` on the real engine: containers made by hand (the docker SDK, no reconcile
labels) → YAML that validate accepts → a plan that adopts them and replaces nothing → apply → no
changes, the very same containers still running. No environment value is ever printed."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.types import LogConfig
from ruamel.yaml import YAML

from reconciler.clients.aws import connect
from reconciler.imports.aws import import_aws
from reconciler.imports.yaml_out import to_yaml
from reconciler.model.load import load_state
from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.moto_server import MotoServer

SECRET = "Zq-import-secret-7c1f"
OWN_LABEL = {"reconciler-test-import": "1"}
Reconcile = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def reconcile(tmp_path: Path, docker_client: docker.DockerClient) -> Reconcile:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env=env)

    return run


@pytest.fixture
def prefix(docker_client: docker.DockerClient) -> Iterator[str]:
    """This test's name prefix; its containers are removed afterwards by name. They carry
    OWN_LABEL, not reconciler.test=1: the engine is shared, and another test's cleanup of that
    label would remove them mid-test (adoption adds no label, so they stay out of its reach)."""
    prefix = f"t{uuid.uuid4().hex[:6]}"
    yield prefix
    for container in docker_client.containers.list(all=True, filters={"name": prefix}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


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
        labels={**OWN_LABEL, "team": "ops"},
        environment={"API_KEY": SECRET, "MODE": "fast"},
        healthcheck={"test": ["CMD-SHELL", "test -d /tmp"], "interval": 1_000_000_000, "retries": 2},
        user="1000:1000",
        stop_signal="SIGINT",
        stop_timeout=3,
        host_config=host_config,
    )
    api.start(web["Id"])
    idle = client.containers.create(TEST_IMAGE, ["sleep", "300"], name=f"{prefix}-idle", network_mode="none", labels=OWN_LABEL)
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


@pytest.mark.docker
def test_import_validates_and_adopts_without_replacing_anything(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient, prefix: str
) -> None:
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


@pytest.mark.aws
def test_import_aws_declares_buckets_and_instances_without_our_tag(tmp_path: Path, aws: MotoServer) -> None:
    """In process against moto (no engine): the YAML validates, ours are left out."""
    s3, ec2 = connect("s3", "us-east-1"), connect("ec2", "us-east-1")
    s3.create_bucket(Bucket="handmade-exports")
    s3.put_bucket_versioning(Bucket="handmade-exports", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket="handmade-exports", Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    s3.create_bucket(Bucket="ours-already")
    s3.put_bucket_tagging(
        Bucket="ours-already", Tagging={"TagSet": [{"Key": "reconciler:address", "Value": "s3_bucket.ours-already"}]}
    )
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "gpu worker"}, {"Key": "team", "Value": "ml"}]}]
    ec2.run_instances(ImageId="ami-0123456789abcdef0", InstanceType="c7i.large", MinCount=1, MaxCount=1, TagSpecifications=tags)
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "aws.yaml").write_text("aws: {region: us-east-1}\n")

    found = import_aws(load_state(state).state, lambda _said: None)
    assert set(found.buckets) == {"handmade-exports"}
    assert found.buckets["handmade-exports"] == {
        "region": "us-east-1",
        "versioning": True,
        "encryption": "none",
        "block_public_access": False,
        "tags": {"team": "ml"},
    }  # fmt: skip  (a bucket made without settings, as moto makes it: what is there is declared, not our defaults)
    assert found.instances["gpu-worker"]["instance_type"] == "c7i.large"
    assert found.instances["gpu-worker"]["protect"] is True
    (state / "imported.yaml").write_text(to_yaml([], {"s3_buckets": found.buckets, "ec2_instances": found.instances}))
    loaded = load_state(state)
    assert set(loaded.state.s3_buckets) == {"handmade-exports"} and set(loaded.state.ec2_instances) == {"gpu-worker"}
