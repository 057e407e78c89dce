"""`reconcile import --aws` → validate → plan → apply on moto, as a user runs it: a bucket made by
hand (boto3, no reconcile tag) is declared as it is, the plan adopts it by adding our tags only (no
create, no replace, no setting rewritten), apply keeps every tag it had, and the next plan is clean."""

from __future__ import annotations

from pathlib import Path

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
    }
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
