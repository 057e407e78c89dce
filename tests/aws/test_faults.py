"""AWS misbehaving on purpose: `reconcile` run as a user does, reaching moto's server through the
fault proxy (tests/support/fault_proxy.py), which throttles, fails, stalls and resets chosen calls,
before or after they took effect. Each test says what the user sees and what is left in S3."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from reconciler.clients.aws import ClientError, connect
from tests.support.cli import run_reconcile
from tests.support.fault_proxy import FaultProxy
from tests.support.full_disk import fill, mounted_tmpfs, release

pytestmark = pytest.mark.aws

BACKEND = "s3://ops-state/team-a"


def write_state(tmp_path: Path, buckets: str, backend: bool = False) -> Path:
    state = tmp_path / "desired_state"
    state.mkdir(exist_ok=True)
    settings = f"settings: {{backend: '{BACKEND}'}}\n" if backend else ""
    (state / "state.yaml").write_text(f"{settings}aws: {{region: us-east-1}}\ns3_buckets:{buckets}\n")
    return state


def through(faults: FaultProxy, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_reconcile(*args, cwd=cwd, env={"AWS_ENDPOINT_URL": faults.url, **(env or {})})


def tags_of(s3: Any, name: str) -> dict[str, str]:
    try:
        return {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError:
        return {}


def lock_object(s3: Any) -> Any:
    try:
        return json.loads(s3.get_object(Bucket="ops-state", Key="team-a/lock")["Body"].read())
    except ClientError:
        return None


def plan_actions(faults: FaultProxy, cwd: Path) -> dict[str, dict[str, Any]]:
    done = through(faults, "plan", "desired_state", "--format", "json", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return {action["address"]: action for action in json.loads(done.stdout)["actions"]}


# --- 1. a create killed (or whose answer was lost) before tagging is recovered AND tracked ---------


def kill_after_create(faults: FaultProxy, cwd: Path) -> None:
    done = through(
        faults, "apply", "desired_state", "--auto-approve", cwd=cwd, env={"RECONCILE_TEST_KILL_AT": "s3_bucket.created"}
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr


def lose_the_create_answer(faults: FaultProxy, cwd: Path) -> None:
    """CreateBucket takes effect, its answer is lost, and every retry fails too: the step fails."""
    faults.inject("CreateBucket", "reset-after")
    faults.inject("CreateBucket", "error5xx", count=10)
    done = through(faults, "apply", "desired_state", "--auto-approve", cwd=cwd)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "InternalError" in done.stdout + done.stderr
    faults.clear()


@pytest.mark.parametrize("interrupt", [kill_after_create, lose_the_create_answer], ids=["kill -9", "answer lost"])
def test_a_create_cut_short_before_tagging_is_recovered_tracked_and_later_deleted(
    faults: FaultProxy, state_s3: Any, tmp_path: Path, interrupt: Any
) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}")  # nothing to configure but our tags
    interrupt(faults, tmp_path)
    assert "exports-a" in {b["Name"] for b in state_s3.list_buckets()["Buckets"]}
    assert tags_of(state_s3, "exports-a") == {}

    action = plan_actions(faults, tmp_path)["s3_bucket.exports-a"]
    assert action["action"] == "update" and action["changes"][0]["path"] == "recovery", action

    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert tags_of(state_s3, "exports-a")["reconciler:address"] == "s3_bucket.exports-a"
    clean = through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    write_state(tmp_path, " {}")  # the declaration removed: the bucket is ours, so it is deleted
    assert plan_actions(faults, tmp_path)["s3_bucket.exports-a"]["action"] == "delete"


# --- 2. the S3 lock does not lock the state against itself -------------------------------------


def test_a_lock_put_whose_answer_was_lost_is_recognised_as_our_own(faults: FaultProxy, state_s3: Any, tmp_path: Path) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}", backend=True)
    faults.inject("PutObject", "reset-after", key="team-a/lock")  # the lock is written; the retry gets 412
    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert faults.injected("reset-after") == [("PutObject", "/ops-state/team-a/lock", "reset-after")]
    assert "locked by" not in applied.stdout + applied.stderr
    assert lock_object(state_s3) is None  # released at the end, as ours
    assert tags_of(state_s3, "exports-a")["reconciler:address"] == "s3_bucket.exports-a"


def test_a_lock_held_by_another_apply_is_still_refused(faults: FaultProxy, state_s3: Any, tmp_path: Path) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}", backend=True)
    other = {"id": "0ther", "host": "ci-runner-7", "pid": 4242, "started": "2026-12-07T10:00:00+00:00"}
    state_s3.put_object(Bucket="ops-state", Key="team-a/lock", Body=json.dumps(other).encode())
    faults.inject("PutObject", "reset-after", key="team-a/lock")  # a lost answer; the lock is another's
    refused = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert refused.returncode == 1
    assert "the state is locked by ci-runner-7 pid 4242" in refused.stderr and "lock id 0ther" in refused.stderr
    assert lock_object(state_s3) == other


# --- 6. a damaged record is an error naming it; a reset mid-body on a record read is retried ------


def test_a_half_written_journal_is_an_error_naming_it_not_a_forgotten_create(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    state = write_state(tmp_path, "\n  exports-a: {protect: false}")
    kill_after_create(faults, tmp_path)
    journal = state / ".reconcile.journal.json"
    journal.write_bytes(journal.read_bytes()[: len(journal.read_bytes()) // 2])  # cut short, as a crash mid-write leaves it
    for command in (["plan", "desired_state"], ["apply", "desired_state", "--auto-approve"]):
        done = through(faults, *command, cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
        assert "the record desired_state/.reconcile.journal.json is damaged (not JSON" in done.stderr
        assert "it holds the steps a killed apply began: restore it from a backup" in done.stderr
    assert tags_of(state_s3, "exports-a") == {}  # nothing was done on a guess


def test_a_damaged_record_in_s3_is_named_by_its_key(faults: FaultProxy, state_s3: Any, tmp_path: Path) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}", backend=True)
    state_s3.put_object(Bucket="ops-state", Key="team-a/journal.json", Body=b'{"version": 1, "intents": {"s3_buc')
    done = through(faults, "plan", "desired_state", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "the record s3://ops-state/team-a/journal.json is damaged (not JSON" in done.stderr, done.stderr


def test_a_reset_mid_body_while_reading_a_record_is_read_again(faults: FaultProxy, state_s3: Any, tmp_path: Path) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}", backend=True)
    assert through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
    write_state(tmp_path, "\n  exports-a: {protect: false}\n  exports-b: {protect: false}", backend=True)
    faults.inject("GetObject", "reset-mid-body", key="team-a/journal.json")
    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert faults.injected() == [("GetObject", "/ops-state/team-a/journal.json", "reset-mid-body")]
    assert tags_of(state_s3, "exports-b")["reconciler:address"] == "s3_bucket.exports-b"


# --- 5. a full disk under the state directory: an error naming the file, no record lost ----------


def test_a_full_disk_under_the_state_directory_names_the_file_and_loses_no_record(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    with mounted_tmpfs(tmp_path / "desired_state") as state:
        write_state(tmp_path, "\n  exports-a: {protect: false}")
        assert through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
        journal = (state / ".reconcile.journal.json").read_bytes()
        write_state(tmp_path, "\n  exports-a: {protect: false}\n  exports-b: {protect: false}")

        fillers = fill(state)  # not a byte left: the lock's holder cannot be written
        full = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
        assert full.returncode == 1 and "Traceback" not in full.stderr, full.stdout + full.stderr
        assert "cannot write desired_state/.reconcile.lock.info: No space left on device; the file is unchanged" in full.stderr
        assert not (state / ".reconcile.lock.info").exists()  # never left empty
        release(fillers)

        fillers = fill(state, pages_left=1)  # room for the lock's holder, none for the journal's intent
        full = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
        assert full.returncode == 1 and "Traceback" not in full.stderr, full.stdout + full.stderr
        said = "nothing done: its intent could not be written to the journal (desired_state/.reconcile.journal.json: No space left on device)"
        assert said in full.stdout + full.stderr
        assert (state / ".reconcile.journal.json").read_bytes() == journal
        assert "exports-b" not in {b["Name"] for b in state_s3.list_buckets()["Buckets"]}  # intent first, so no action
        assert not [p.name for p in state.iterdir() if p.name.endswith(".tmp")]
        release(fillers)

        applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path).returncode == 0


def test_a_damaged_lock_object_is_named_with_how_to_remove_it(faults: FaultProxy, state_s3: Any, tmp_path: Path) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}", backend=True)
    state_s3.put_object(Bucket="ops-state", Key="team-a/lock", Body=b'{"id": "ab')  # cut short
    refused = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "locked by a lock object without a holder reconcile can read" in refused.stderr
    assert "remove it yourself (aws s3 rm s3://ops-state/team-a/lock)" in refused.stderr
    assert "None pid None" not in refused.stderr


def test_a_lock_release_whose_answer_was_lost_is_not_reported_as_someone_elses(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    write_state(tmp_path, "\n  exports-a: {protect: false}", backend=True)
    faults.inject("DeleteObject", "reset-after", key="team-a/lock")  # released; the retry finds no lock
    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert faults.injected() == [("DeleteObject", "/ops-state/team-a/lock", "reset-after")]
    assert "already removed" not in applied.stdout + applied.stderr
    assert lock_object(state_s3) is None


# --- faults that hold: the apply retries or recovers, converges, and makes each thing once -------

WORLD = (
    f"settings: {{backend: '{BACKEND}'}}\naws: {{region: us-east-1}}\n"
    "s3_buckets:\n  exports-a: {versioning: true, protect: false}\n"
    "ec2_instances:\n  worker: {instance_type: t3.micro, ami: ami-0123456789abcdef0}\n"
)


def live_instances(address: str) -> list[str]:
    ec2 = connect("ec2", "us-east-1")
    found = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    return [
        i["InstanceId"]
        for i in found
        if {"Key": "reconciler:address", "Value": address} in i.get("Tags", []) and i["State"]["Name"] not in ("terminated",)
    ]


@pytest.mark.slow  # 11 applies and plans through retries and back-offs: ~10 s each
@pytest.mark.parametrize(
    ("operation", "kind", "count", "key"),
    [
        ("CreateBucket", "throttle", 3, ""),
        ("PutBucketTagging", "slowdown", 2, ""),
        ("PutBucketVersioning", "error5xx", 2, ""),
        ("CreateBucket", "reset-before", 2, ""),
        ("PutBucketTagging", "reset-after", 1, ""),
        ("GetBucketTagging", "stall", 1, ""),
        ("RunInstances", "throttle", 2, ""),
        ("DescribeInstances", "error5xx", 2, ""),
        ("PutObject", "throttle", 2, "team-a/journal.json"),
        ("PutObject", "reset-after", 1, "team-a/journal.json"),
        ("GetObject", "slowdown", 2, "team-a/journal.json"),
    ],
)
def test_a_fault_that_is_retried_or_recovered_converges_in_one_apply(
    faults: FaultProxy, state_s3: Any, tmp_path: Path, operation: str, kind: str, count: int, key: str
) -> None:
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "state.yaml").write_text(WORLD)
    faults.inject(operation, kind, count=count, key=key, seconds=3.0)
    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert len(faults.injected(kind)) == count, faults.seen
    clean = through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert tags_of(state_s3, "exports-a")["reconciler:address"] == "s3_bucket.exports-a"
    assert len(live_instances("ec2_instance.worker")) == 1
    assert lock_object(state_s3) is None


def test_a_launch_whose_answer_was_lost_is_retried_with_the_same_client_token(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    """AWS makes one instance of two RunInstances with one ClientToken; moto ignores tokens and makes
    two, so here the next plan must at least say so (duplicate-instance), never hide the second."""
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "state.yaml").write_text(WORLD)
    faults.inject("RunInstances", "reset-after")
    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    tokens = [parse_qs(body.decode())["ClientToken"] for operation, body in faults.bodies if operation == "RunInstances"]
    assert len(tokens) == 2 and tokens[0] == tokens[1], tokens
    launched = live_instances("ec2_instance.worker")
    plan = through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    if len(launched) > 1:  # an endpoint that ignores ClientToken (moto)
        assert "duplicate-instance: 1 more live instance(s) carry this address" in plan.stdout


# --- a region that cannot be read blocks only what is in it ------------------------------------


def test_a_denied_region_blocks_only_its_own_buckets_and_apply_makes_the_rest(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    """Every call signed for ap-south-2 is denied (403), as a service control policy denying the region
    answers: its bucket is blocked with the cause, the bucket in us-east-1 is planned and made, and
    the next plan still shows the blocked one (and nothing else)."""
    faults.inject("*", "deny", count=1_000_000, region="ap-south-2")
    write_state(tmp_path, "\n  exports-a: {protect: false}\n  exports-far: {region: ap-south-2, protect: false}")

    planned = through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    actions = plan_actions(faults, tmp_path)
    assert actions["s3_bucket.exports-a"]["action"] == "create" and not actions["s3_bucket.exports-a"]["blocked"]
    far = actions["s3_bucket.exports-far"]
    assert far["reasons"] == ["region ap-south-2 could not be observed"], far
    assert "AccessDenied" in far["blocked"]["reason"] and "region ap-south-2" in far["blocked"]["remedy"], far

    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    shown = applied.stdout + applied.stderr
    assert applied.returncode == 1 and "Traceback" not in shown, shown
    assert "exports-a" in {b["Name"] for b in state_s3.list_buckets()["Buckets"]}
    assert "s3_bucket.exports-far" in shown and "region ap-south-2 could not be observed" in shown, shown

    again = plan_actions(faults, tmp_path)
    assert again["s3_bucket.exports-a"]["action"] == "noop" and again["s3_bucket.exports-far"]["blocked"], again


# --- a bucket that cannot be read blocks only itself ---------------------------------------------


def test_another_teams_bucket_that_denies_reading_its_tags_is_left_alone(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    """A bucket in the same account and region whose policy denies this identity its tags (another
    team's, say) is not this state's: the plan goes on without it. Was: the plan failed on it."""
    state_s3.create_bucket(Bucket="team-b-audit")
    faults.inject("GetBucketTagging", "deny", count=1_000_000, key="team-b-audit")
    write_state(tmp_path, "\n  exports-a: {protect: false}")

    planned = through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    actions = plan_actions(faults, tmp_path)
    assert set(actions) == {"s3_bucket.exports-a"} and actions["s3_bucket.exports-a"]["action"] == "create", actions
    assert faults.injected("deny"), "the bucket's tags were never asked for"


def test_a_declared_bucket_that_cannot_be_read_blocks_only_itself(faults: FaultProxy, state_s3: Any, tmp_path: Path) -> None:
    """One read of a bucket this state manages is denied: that bucket is blocked with the cause, the
    rest is planned and applied, and once it can be read again the plan is clean. Was: the plan failed."""
    write_state(tmp_path, "\n  exports-b: {protect: false}")
    assert through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
    faults.inject("GetBucketVersioning", "deny", count=1_000_000, key="exports-b")
    write_state(tmp_path, "\n  exports-a: {protect: false}\n  exports-b: {protect: false}")

    actions = plan_actions(faults, tmp_path)
    assert actions["s3_bucket.exports-a"]["action"] == "create" and not actions["s3_bucket.exports-a"]["blocked"]
    blocked = actions["s3_bucket.exports-b"]
    assert blocked["reasons"] == ["s3_bucket.exports-b could not be observed"], blocked
    assert "versioning" in blocked["blocked"]["reason"] and "AccessDenied" in blocked["blocked"]["reason"], blocked
    assert "make bucket exports-b readable" in blocked["blocked"]["remedy"], blocked

    applied = through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path)
    shown = applied.stdout + applied.stderr
    assert applied.returncode == 1 and "Traceback" not in shown, shown
    assert "exports-a" in {b["Name"] for b in state_s3.list_buckets()["Buckets"]}
    assert "s3_bucket.exports-b" in shown and "could not be observed" in shown, shown

    faults.clear()
    assert {a: x["action"] for a, x in plan_actions(faults, tmp_path).items()} == {
        "s3_bucket.exports-a": "noop",
        "s3_bucket.exports-b": "noop",
    }


def test_an_undeclared_bucket_of_ours_that_cannot_be_read_is_blocked_not_forgotten(
    faults: FaultProxy, state_s3: Any, tmp_path: Path
) -> None:
    """A bucket this state made, no longer declared, whose tags S3 keeps failing to answer (500):
    blocked, so neither "No changes" nor a delete is planned on what could not be read; once S3
    answers, its delete is planned."""
    write_state(tmp_path, "\n  exports-old: {protect: false}")
    assert through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 0
    write_state(tmp_path, " {}")
    faults.inject("GetBucketTagging", "error5xx", count=1_000_000, key="exports-old")

    planned = through(faults, "plan", "desired_state", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 2 and "No changes" not in planned.stdout, planned.stdout + planned.stderr
    old = plan_actions(faults, tmp_path)["s3_bucket.exports-old"]
    assert old["action"] == "noop" and "InternalError" in old["blocked"]["reason"], old
    assert through(faults, "apply", "desired_state", "--auto-approve", cwd=tmp_path).returncode == 1
    assert "exports-old" in {b["Name"] for b in state_s3.list_buckets()["Buckets"]}

    faults.clear()
    assert plan_actions(faults, tmp_path)["s3_bucket.exports-old"]["action"] == "delete"


@pytest.mark.parametrize(
    ("also_declared", "reason", "remedy"),
    [
        ("", "in region ap-south-2, where it lives (bucket names are global): ", "make bucket exports-moved readable"),
        ("\n  exports-far: {region: ap-south-2, protect: false}", "it lives in region ap-south-2, which could not be observed: ",
         "make region ap-south-2 readable"),
    ],
    ids=["read where it lives", "its region listed and denied"],
)  # fmt: skip
def test_a_bucket_declared_in_one_region_that_lives_in_a_denied_one_is_blocked_not_created(
    faults: FaultProxy, state_s3: Any, tmp_path: Path, also_declared: str, reason: str, remedy: str
) -> None:
    """Bucket names are global: declared in us-east-1, it exists in ap-south-2, whose calls are all
    denied. It is blocked naming that region (a create would fail: the name is taken), never planned
    as one: read where it lives and denied there, or (the state also declares a bucket in ap-south-2)
    with the cause and remedy of that region's failed listing."""
    connect("s3", "ap-south-2").create_bucket(
        Bucket="exports-moved", CreateBucketConfiguration={"LocationConstraint": "ap-south-2"}
    )
    faults.inject("*", "deny", count=1_000_000, region="ap-south-2")
    write_state(tmp_path, "\n  exports-moved: {protect: false}" + also_declared)

    moved = plan_actions(faults, tmp_path)["s3_bucket.exports-moved"]
    assert moved["action"] != "create" and moved["blocked"], moved
    assert moved["blocked"]["reason"].startswith(reason) and "AccessDenied" in moved["blocked"]["reason"], moved
    assert remedy in moved["blocked"]["remedy"], moved
