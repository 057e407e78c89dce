"""Plan and apply of a bucket state as a user runs them: `reconcile` in a new process, pointed at
moto's server by AWS_ENDPOINT_URL, taking the S3 state lock settings.lock names. The implicit Docker
host is observed too (read only), so an engine must answer; --target keeps the run to the bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.clients.aws import connect
from tests.cli.conftest import Run
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

STATE = """
settings: {lock: "s3://ops-state/reconcile.lock", policy_mode: warn}
aws: {region: us-east-1}
s3_buckets:
  bqx-ml-phase2-features:
    versioning: true
    lifecycle:
      - {id: expire-tmp, prefix: tmp/, expire_days: 7}
    tags: {Project: bqx-ml}
"""
TARGET = ("--target", "s3_bucket.bqx-ml-phase2-features")


def test_plan_apply_plan_of_a_bucket_under_the_s3_lock(reconcile: Run, tmp_path: Path, aws: MotoServer, docker_host: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "buckets.yaml").write_text(STATE)
    s3 = connect("s3", "us-east-1")
    s3.create_bucket(Bucket="ops-state")
    env = {**aws.environment, "DOCKER_HOST": docker_host}

    first = reconcile("plan", str(state), *TARGET, "--detailed-exitcode", env=env)
    assert first.returncode == 2, first.stderr
    assert "+ s3_bucket.bqx-ml-phase2-features" in first.stdout
    assert '+ versioning: "Enabled"' in first.stdout

    applied = reconcile("apply", str(state), *TARGET, "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stderr
    assert "done        s3_bucket.bqx-ml-phase2-features: created in us-east-1, tagged, versioning Enabled" in applied.stdout
    assert s3.list_objects_v2(Bucket="ops-state")["KeyCount"] == 0  # the lock was released

    s3.put_bucket_versioning(Bucket="bqx-ml-phase2-features", VersioningConfiguration={"Status": "Suspended"})
    drifted = reconcile("plan", str(state), *TARGET, "--detailed-exitcode", env=env)
    assert drifted.returncode == 2
    assert '~ versioning: "Suspended" → "Enabled"' in drifted.stdout

    s3.put_object(Bucket="ops-state", Key="reconcile.lock", Body=b'{"id": "0f3c", "host": "ci-runner-7", "pid": 1}')
    locked = reconcile("apply", str(state), *TARGET, "--auto-approve", env=env)
    assert locked.returncode == 1
    assert "the state is locked by ci-runner-7 pid 1" in locked.stderr and "Traceback" not in locked.stderr
    s3.delete_object(Bucket="ops-state", Key="reconcile.lock")

    repaired = reconcile("apply", str(state), *TARGET, "--auto-approve", env=env)
    assert repaired.returncode == 0, repaired.stderr
    last = reconcile("plan", str(state), *TARGET, "--detailed-exitcode", env=env)
    assert last.returncode == 0, last.stdout + last.stderr
    assert "No changes." in last.stdout
