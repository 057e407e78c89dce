"""settings.backend: s3://BUCKET/PREFIX against moto's server (real HTTP through AWS_ENDPOINT_URL; moto
answers If-None-Match: * and If-Match on PutObject with 412 PreconditionFailed, as S3 does), and an
apply killed (SIGKILL, at a named crash point) between CreateBucket and tagging."""

from __future__ import annotations

import json
import re
import signal
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.clients.aws import ClientError
from reconciler.clients.backend import S3Backend
from reconciler.clients.journal import Journal
from reconciler.clients.records import Record, RecordConflict
from tests.support.cli import run_reconcile
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

BACKEND = "s3://ops-state/team-a"


def stored(state_s3: Any, name: str) -> Any:
    try:
        return json.loads(state_s3.get_object(Bucket="ops-state", Key=f"team-a/{name}.json")["Body"].read())
    except ClientError:
        return None


def test_records_are_written_with_conditional_puts_and_a_conflict_is_read_again(state_s3: Any, tmp_path: Path) -> None:
    backend = S3Backend(BACKEND, "us-east-1")
    first = backend.write("restarts", {"n": 1}, None)
    with pytest.raises(RecordConflict):
        backend.write("restarts", {"n": 2}, None)  # If-None-Match: *, and it exists
    backend.write("restarts", {"n": 2}, first)
    with pytest.raises(RecordConflict):
        backend.write("restarts", {"n": 3}, first)  # If-Match on a stale ETag
    ours, theirs = Record(backend, "journal"), Record(S3Backend(BACKEND, "us-east-1"), "journal")
    ours.update(lambda doc: {"items": [*(doc or {}).get("items", []), "a"]})
    assert theirs.document() == {"items": ["a"]}
    ours.update(lambda doc: {"items": [*(doc or {}).get("items", []), "b"]})
    theirs.update(lambda doc: {"items": [*(doc or {}).get("items", []), "c"]})  # conflict → read again → both kept
    assert stored(state_s3, "journal") == {"items": ["a", "b", "c"]}


def test_a_state_moving_to_s3_starts_from_its_local_records(state_s3: Any, tmp_path: Path) -> None:
    (tmp_path / ".reconcile.adopted.json").write_text('{"version": 1, "adopted": {"local/abc": "container.web"}}')
    record = Record(S3Backend(BACKEND, "us-east-1", tmp_path), "adopted")
    assert record.document() == {"version": 1, "adopted": {"local/abc": "container.web"}}
    record.update(lambda doc: {**doc, "adopted": {**doc["adopted"], "local/def": "container.db"}})
    assert stored(state_s3, "adopted")["adopted"] == {"local/abc": "container.web", "local/def": "container.db"}


def test_a_missing_backend_bucket_is_named(aws: MotoServer, tmp_path: Path) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "s.yaml").write_text(
        f"settings: {{backend: '{BACKEND}'}}\naws: {{region: us-east-1}}\ns3_buckets: {{exports-a: {{}}}}\n"
    )
    done = run_reconcile("plan", "desired_state", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "the backend bucket ops-state does not exist (settings.backend: s3://ops-state/team-a); create it first" in done.stderr


def buckets_state(state: Path, *names: str) -> None:
    declared = "".join(f"  {name}: {{versioning: true, protect: false, tags: {{team: a}}}}\n" for name in names)
    (state / "state.yaml").write_text(
        textwrap.dedent(f"""\
            settings: {{backend: '{BACKEND}'}}
            aws: {{region: us-east-1}}
            s3_buckets:
            """)
        + declared
    )


def killed_after_create(tmp_path: Path) -> None:
    """Apply with a kill right after CreateBucket (the first bucket: one step at a time)."""
    done = run_reconcile(
        "apply", "desired_state", "--auto-approve", "--parallelism", "1", cwd=tmp_path,
        env={"RECONCILE_TEST_KILL_AT": "s3_bucket.created"},
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr


def user_buckets(state_s3: Any) -> set[str]:
    return {bucket["Name"] for bucket in state_s3.list_buckets()["Buckets"]} - {"ops-state"}


def test_a_bucket_created_by_a_killed_apply_is_tagged_and_adopted_by_the_next(state_s3: Any, tmp_path: Path) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    buckets_state(state, "exports-a", "exports-b")
    killed_after_create(tmp_path)
    assert user_buckets(state_s3) == {"exports-a"}  # created, never tagged
    assert "s3_bucket.exports-a" in stored(state_s3, "journal")["intents"]

    plan = run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path)
    action = next(a for a in json.loads(plan.stdout)["actions"] if a["address"] == "s3_bucket.exports-a")
    assert action["action"] == "update" and action["blocked"] is None
    assert action["reasons"][0].startswith("recover: exports-a was created by an apply killed before it was tagged")
    assert action["changes"][0] == {"path": "recovery", "before": "untagged, created by a killed apply", "after": "adopted"}

    held = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert held.returncode == 1
    assert "a process that no longer runs: remove its lock with `reconcile force-unlock" in held.stderr, held.stderr
    lock_id = re.search(r"force-unlock (\w+)`", held.stderr)
    assert lock_id is not None
    assert run_reconcile("force-unlock", lock_id.group(1), "desired_state", cwd=tmp_path).returncode == 0
    applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert user_buckets(state_s3) == {"exports-a", "exports-b"}
    assert stored(state_s3, "journal")["intents"] == {}
    assert not list(state.glob(".reconcile.*"))  # every record, and the lock, is in S3


def test_a_bucket_created_by_a_killed_apply_and_no_longer_declared_is_removed(state_s3: Any, tmp_path: Path) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    buckets_state(state, "exports-a", "exports-b")
    killed_after_create(tmp_path)
    buckets_state(state, "exports-b")  # the pull request is reverted
    plan = run_reconcile("plan", "desired_state", cwd=tmp_path).stdout
    assert "s3_bucket.exports-a" in plan and "the create is undone" in plan and "~ recovery:" in plan, plan
    lock = json.loads(state_s3.get_object(Bucket="ops-state", Key="team-a/lock")["Body"].read())
    run_reconcile("force-unlock", lock["id"], "desired_state", cwd=tmp_path)
    applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert user_buckets(state_s3) == {"exports-b"}
    assert run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path).returncode == 0


def test_an_untagged_bucket_the_journal_does_not_know_stays_blocked(state_s3: Any, tmp_path: Path) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    buckets_state(state, "exports-a")
    state_s3.create_bucket(Bucket="exports-a")  # made by hand: not ours, and different (no versioning)
    Journal(Record(S3Backend(BACKEND, "us-east-1"), "journal")).end(["s3_bucket.exports-a"])
    plan = json.loads(run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path).stdout)
    action = next(a for a in plan["actions"] if a["address"] == "s3_bucket.exports-a")
    assert action["blocked"] is not None and not any(r.startswith("recover") for r in action["reasons"])
