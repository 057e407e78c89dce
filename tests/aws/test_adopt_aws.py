"""`reconcile import --aws` → validate → plan → apply on moto, as a user runs it: a bucket made by
hand (boto3, no reconcile tag) is declared as it is, the plan adopts it by adding our tags only (no
create, no replace, no setting rewritten), apply keeps every tag it had, and the next plan is clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.clients.aws import connect
from tests.support.cli import run_reconcile
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

BUCKET = "handmade-exports"


def test_an_imported_bucket_is_adopted_by_a_tag_update_only(tmp_path: Path, aws: MotoServer) -> None:
    s3 = connect("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    s3.put_bucket_tagging(
        Bucket=BUCKET, Tagging={"TagSet": [{"Key": "team", "Value": "ml"}, {"Key": "cost-center", "Value": "42"}]}
    )
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "aws.yaml").write_text("aws: {region: us-east-1}\n")

    def reconcile(*args: str) -> str:
        done = run_reconcile(*args, cwd=tmp_path)
        assert "Traceback" not in done.stderr
        assert done.returncode in (0, 2), done.stdout + done.stderr
        return done.stdout

    imported = reconcile("import", "desired_state", "--aws")
    assert BUCKET in imported
    (state / "imported.yaml").write_text(imported)
    reconcile("validate", "desired_state")

    plan = reconcile("plan", "desired_state")
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy, 0 blocked." in plan, plan
    assert f"adopt: unmanaged bucket {BUCKET} in us-east-1 matches its declaration" in plan
    assert f"s3_bucket.{BUCKET}" in plan and "reconciler:address" in plan and "reconciler:protect" in plan
    assert "versioning" not in plan and "encryption" not in plan  # no setting is rewritten

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert "adopt" in applied or "tagged" in applied, applied
    again = run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr

    tags = {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags == {
        "team": "ml",
        "cost-center": "42",
        "reconciler:address": f"s3_bucket.{BUCKET}",
        "reconciler:protect": "true",
        "reconciler:state": "default",
    }
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


AMI = "ami-0123456789abcdef0"  # moto launches any well-formed AMI id


def _instances(ec2: Any) -> list[dict[str, Any]]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def _reconcile(tmp_path: Path, *args: str) -> str:
    done = run_reconcile(*args, cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 2), done.stdout + done.stderr
    return done.stdout


def test_an_imported_instance_is_adopted_by_a_tag_update_not_launched_again(tmp_path: Path, aws: MotoServer) -> None:
    ec2 = connect("ec2", "us-east-1")
    launched = ec2.run_instances(
        ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "build-box"}, {"Key": "team", "Value": "ml"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "aws.yaml").write_text("aws: {region: us-east-1}\n")

    imported = _reconcile(tmp_path, "import", "desired_state", "--aws")
    assert "build-box" in imported and "protect: true" in imported, imported
    (state / "imported.yaml").write_text(imported)
    _reconcile(tmp_path, "validate", "desired_state")

    plan = _reconcile(tmp_path, "plan", "desired_state")
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy, 0 blocked." in plan, plan
    assert f"adopt: unmanaged instance {launched} matches its declaration; apply adds our tags" in plan
    assert "reconciler:address" in plan and "reconciler:protect" in plan
    assert "instance_type" not in plan and "~ state" not in plan.split("adopt")[1]

    applied = _reconcile(tmp_path, "apply", "desired_state", "--auto-approve")
    assert f"adopted {launched}" in applied, applied
    again = run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr

    [instance] = _instances(ec2)
    assert instance["InstanceId"] == launched
    assert {t["Key"]: t["Value"] for t in instance["Tags"]} == {
        "Name": "build-box",
        "team": "ml",
        "reconciler:address": "ec2_instance.build-box",
        "reconciler:protect": "true",
        "reconciler:state": "default",
    }


def test_a_declared_instance_whose_untagged_twin_differs_is_blocked_and_nothing_is_launched(
    tmp_path: Path, aws: MotoServer
) -> None:
    ec2 = connect("ec2", "us-east-1")
    launched = ec2.run_instances(
        ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "build-box"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "state.yaml").write_text(
        f"aws: {{region: us-east-1}}\nec2_instances:\n  build-box: {{instance_type: t3.large, ami: {AMI}}}\n"
    )
    plan = _reconcile(tmp_path, "plan", "desired_state")
    assert "1 blocked." in plan and "will be created" in plan, plan
    assert launched in plan and "instance_type (is 't3.micro', declared 't3.large')" in plan, plan

    applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert "Traceback" not in applied.stderr
    [instance] = _instances(ec2)
    assert instance["InstanceId"] == launched and instance["InstanceType"] == "t3.micro"
    assert not any(t["Key"].startswith("reconciler:") for t in instance.get("Tags", []))
