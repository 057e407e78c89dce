"""`reconcile force-unlock LOCK_ID [DIR]` as a user runs it: 0 removed, 1 not held or held by another
id; for the file lock and (against moto's server, through AWS_ENDPOINT_URL) the S3 lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.apply.lock import StateLock
from reconciler.clients.aws import connect
from tests.cli.conftest import Run
from tests.support.moto_server import MotoServer

DEAD_HOLDER = {"id": "0f3c", "host": "ci-runner-7", "pid": 4242, "started": "2025-11-10T09:00:00+00:00"}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "settings.yaml").write_text("settings: {policy_mode: warn}\n")
    return directory


def test_a_dead_holders_file_lock_is_removed_with_its_id(reconcile: Run, state: Path) -> None:
    (state / ".reconcile.lock.info").write_text(json.dumps(DEAD_HOLDER))
    wrong = reconcile("force-unlock", "ffff", str(state))
    assert wrong.returncode == 1
    assert "held by ci-runner-7 pid 4242" in wrong.stderr and "not by lock id ffff; nothing removed" in wrong.stderr
    removed = reconcile("force-unlock", "0f3c", str(state))
    assert removed.returncode == 0, removed.stderr
    assert "removed the lock of ci-runner-7 pid 4242" in removed.stdout
    assert not (state / ".reconcile.lock.info").exists()
    again = reconcile("force-unlock", "0f3c", str(state))
    assert again.returncode == 1 and "the state is not locked" in again.stderr
    assert "Traceback" not in wrong.stderr + again.stderr


def test_a_running_holders_file_lock_is_not_removed(reconcile: Run, state: Path) -> None:
    with StateLock(state, 0, print) as running:
        refused = reconcile("force-unlock", running.id, str(state))
        assert refused.returncode == 1
        assert "a process that still runs" in refused.stderr
        assert (state / ".reconcile.lock.info").exists()


@pytest.mark.aws
def test_the_s3_lock_is_removed_only_with_its_id(reconcile: Run, state: Path, aws: MotoServer) -> None:
    (state / "settings.yaml").write_text("settings: {lock: 's3://ops-state/reconcile.lock'}\naws: {region: us-east-1}\n")
    s3 = connect("s3", "us-east-1")
    s3.create_bucket(Bucket="ops-state")
    s3.put_object(Bucket="ops-state", Key="reconcile.lock", Body=json.dumps(DEAD_HOLDER).encode())
    wrong = reconcile("force-unlock", "ffff", str(state), env=aws.environment)
    assert wrong.returncode == 1 and "held by ci-runner-7 pid 4242" in wrong.stderr
    removed = reconcile("force-unlock", "0f3c", str(state), env=aws.environment)
    assert removed.returncode == 0, removed.stderr
    assert "removed the lock s3://ops-state/reconcile.lock held by ci-runner-7" in removed.stdout
    assert s3.list_objects_v2(Bucket="ops-state")["KeyCount"] == 0
    again = reconcile("force-unlock", "0f3c", str(state), env=aws.environment)
    assert again.returncode == 1 and "does not exist" in again.stderr
