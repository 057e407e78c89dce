"""S3 buckets against moto's server (a real HTTP endpoint, reached through AWS_ENDPOINT_URL as a user
would point the tool at an emulator; nothing is mocked). Drift is made with boto3 behind the tool's
back, as a console user would. The planner runs with the s3_bucket kind alone, so no Docker engine
(and no other kind's AWS calls) is involved."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyResult, apply_planned
from reconciler.clients.aws import ClientError, connect, error_code
from reconciler.kinds.base import RunContext
from reconciler.kinds.s3_bucket import kind as s3_bucket
from reconciler.model.load import LoadedState, load_state
from reconciler.planner import Planned, make_plan
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

BUCKET = "bqx-ml-phase2-features"
STATE = f"""
aws: {{region: us-east-1}}
s3_buckets:
  {BUCKET}:
    versioning: true
    encryption: AES256
    block_public_access: true
    lifecycle:
      - {{id: expire-tmp, prefix: tmp/, expire_days: 7, noncurrent_expire_days: 30}}
      - {{id: archive, prefix: exports/, transition_days: 30, storage_class: STANDARD_IA}}
    tags: {{Project: bqx-ml}}
"""


@pytest.fixture(autouse=True)
def s3_kind_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.planner.KINDS", {"s3_bucket": s3_bucket.KIND})


class Tool:
    """Plans and applies a state directory the way `reconcile` does, counting every S3 call it makes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.calls: Counter[str] = Counter()
        self.clients = {f"s3:{region}": connect("s3", region) for region in ("us-east-1", "eu-west-1")}
        for client in self.clients.values():
            client.meta.events.register("before-call.s3", self._count)

    def write(self, text: str) -> LoadedState:
        (self.directory / "state.yaml").write_text(text)
        return load_state(self.directory)

    def context(self, loaded: LoadedState) -> RunContext:
        return RunContext(state=loaded.state, state_dir=loaded.directory, now=datetime.now(UTC), clients=dict(self.clients))

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def plan(self, loaded: LoadedState) -> Planned:
        return make_plan(loaded, self.context(loaded))

    def apply(self, loaded: LoadedState) -> ApplyResult:
        ctx = self.context(loaded)
        return apply_planned(make_plan(loaded, ctx), ctx, lambda _: None, lambda _: None)

    def shown(self, loaded: LoadedState) -> dict[str, str]:
        """address → 'action: reasons' for what is not a noop."""
        return {
            a.address: f"{a.action}: {'; '.join(a.reasons)}" + (f" [blocked: {a.blocked.reason}]" if a.blocked else "")
            for a in self.plan(loaded).plan.actions
            if a.is_change or a.blocked
        }


@pytest.fixture
def tool(aws: MotoServer, tmp_path: Path) -> Tool:
    return Tool(tmp_path)


@pytest.fixture
def s3(aws: MotoServer) -> Any:
    return connect("s3", "us-east-1")


def test_create_in_two_regions_then_noop_with_five_reads_per_bucket(tool: Tool, s3: Any) -> None:
    loaded = tool.write(STATE + "  eu-exports:\n    region: eu-west-1\n    encryption: none\n    protect: false\n")
    assert tool.shown(loaded) == {f"s3_bucket.{BUCKET}": "create: ", "s3_bucket.eu-exports": "create: "}
    result = tool.apply(loaded)
    assert result.ok, result.outcomes
    assert s3.get_bucket_location(Bucket="eu-exports")["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    tool.calls.clear()
    assert tool.shown(loaded) == {}
    reads_per_bucket = {op: n for op, n in tool.calls.items() if op != "ListBuckets"}
    assert reads_per_bucket == dict.fromkeys(
        [
            "GetBucketTagging",
            "GetBucketVersioning",
            "GetBucketEncryption",
            "GetPublicAccessBlock",
            "GetBucketLifecycleConfiguration",
        ],
        2,
    )
    assert tool.calls["ListBuckets"] == 2  # one per region the state uses


def _suspend_versioning(s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})


def _kms_encryption(s3: Any) -> None:
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/other"}}
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [rule]})


def _no_encryption(s3: Any) -> None:
    s3.delete_bucket_encryption(Bucket=BUCKET)


def _open_public_policy(s3: Any) -> None:
    flags = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=flags)


def _no_public_access_block(s3: Any) -> None:
    s3.delete_public_access_block(Bucket=BUCKET)


def _remove_a_rule(s3: Any) -> None:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [r for r in rules if r["ID"] != "archive"]}
    )


def _change_a_rule(s3: Any) -> None:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    for rule in rules:
        if rule["ID"] == "expire-tmp":
            rule["Expiration"] = {"Days": 90}
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})


def _no_lifecycle(s3: Any) -> None:
    s3.delete_bucket_lifecycle(Bucket=BUCKET)


def _retag(s3: Any) -> None:
    tags = s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    edited = [{**t, "Value": "someone-else"} if t["Key"] == "Project" else t for t in tags] + [{"Key": "Owner", "Value": "x"}]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": edited})


def _unprotect(s3: Any) -> None:
    tags = s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    edited = [{**t, "Value": "false"} if t["Key"] == "reconciler:protect" else t for t in tags]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": edited})


DRIFTS: dict[str, tuple[Callable[[Any], None], str]] = {
    "versioning suspended": (_suspend_versioning, "versioning changed"),
    "encryption switched to KMS": (_kms_encryption, "encryption changed"),
    "encryption removed": (_no_encryption, "encryption changed"),
    "one public access flag off": (_open_public_policy, "block_public_access.BlockPublicPolicy changed"),
    "public access block removed": (_no_public_access_block, "block_public_access.BlockPublicAcls changed"),
    "lifecycle rule removed": (_remove_a_rule, "lifecycle rule archive missing"),
    "lifecycle rule changed": (_change_a_rule, "lifecycle.expire-tmp.expire_days changed"),
    "lifecycle removed": (_no_lifecycle, "lifecycle rule expire-tmp missing"),
    "tags edited": (_retag, "tags.Owner changed; tags.Project changed"),
    "protect tag edited": (_unprotect, "protect changed"),
}


@pytest.mark.parametrize("drift", DRIFTS)
def test_drift_made_behind_our_back_is_an_update_naming_the_field_and_apply_repairs_it(tool: Tool, s3: Any, drift: str) -> None:
    make, named = DRIFTS[drift]
    loaded = tool.write(STATE)
    assert tool.apply(loaded).ok
    make(s3)
    plan = tool.shown(loaded)
    assert list(plan) == [f"s3_bucket.{BUCKET}"]
    assert plan[f"s3_bucket.{BUCKET}"].startswith("update: ") and named in plan[f"s3_bucket.{BUCKET}"]
    result = tool.apply(loaded)
    assert result.ok, result.outcomes
    assert tool.shown(loaded) == {}


def _snapshot(s3: Any) -> dict[str, Any]:
    """Everything a plan could change, as the API reports it."""

    def read(call: Callable[[], Any]) -> Any:
        try:
            answer = call()
        except Exception as error:  # "not configured" answers are part of the picture
            return error_code(error)
        if isinstance(answer, dict):
            answer.pop("ResponseMetadata", None)
        return answer

    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    return {
        name: [
            read(lambda: s3.get_bucket_versioning(Bucket=name)),  # noqa: B023 (called at once)
            read(lambda: s3.get_bucket_encryption(Bucket=name)),  # noqa: B023
            read(lambda: s3.get_public_access_block(Bucket=name)),  # noqa: B023
            read(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)),  # noqa: B023
            read(lambda: s3.get_bucket_tagging(Bucket=name)),  # noqa: B023
            read(lambda: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))),  # noqa: B023
        ]
        for name in buckets
    }


def test_plan_is_read_only(tool: Tool, s3: Any) -> None:
    """A plan with a create, an update, a deletable orphan and a foreign bucket: only reads are
    called, and every bucket's settings and objects are the same afterwards."""
    loaded = tool.write(STATE + "  orphan-bucket:\n    protect: false\n")
    assert tool.apply(loaded).ok
    s3.put_object(Bucket=BUCKET, Key="tmp/a", Body=b"x")
    _suspend_versioning(s3)
    s3.create_bucket(Bucket="someone-elses")
    loaded = tool.write(STATE + "  someone-elses: {}\n  new-bucket: {}\n")
    before = _snapshot(s3)
    tool.calls.clear()
    assert tool.shown(loaded) == {
        f"s3_bucket.{BUCKET}": "update: versioning changed",
        "s3_bucket.orphan-bucket": "delete: no longer declared",
        "s3_bucket.new-bucket": "create: ",
        "s3_bucket.someone-elses": "create: a bucket named someone-elses already exists in us-east-1, unmanaged, and differs "
        "from its declaration [blocked: bucket someone-elses exists in us-east-1 without the tag "
        "reconciler:address=s3_bucket.someone-elses and differs from its declaration: "
        "encryption (is 'none', declared 'AES256'), block_public_access.BlockPublicAcls (is False, declared True), block_public_access.BlockPublicPolicy (is False, "
        "declared True), block_public_access.IgnorePublicAcls (is False, declared True), "
        "block_public_access.RestrictPublicBuckets (is False, declared True); reconcile adopts only a bucket that matches "
        "(bucket names are global)]",
    }  # a hand-made twin that differs from its declaration stays blocked (a matching one is adopted)
    assert all(op.startswith(("Get", "List", "Head")) for op in tool.calls), tool.calls
    assert _snapshot(s3) == before


def test_delete_only_unprotected_empty_managed_buckets(tool: Tool, s3: Any) -> None:
    loaded = tool.write(
        "aws: {region: us-east-1}\ns3_buckets:\n  gone-empty: {protect: false}\n  gone-full: {protect: false}\n  kept: {}\n"
    )
    assert tool.apply(loaded).ok
    s3.put_object(Bucket="gone-full", Key="a", Body=b"1")
    s3.put_object(Bucket="gone-full", Key="b", Body=b"2")
    loaded = tool.write("aws: {region: us-east-1}\n")
    plan = tool.shown(loaded)
    assert plan["s3_bucket.gone-empty"] == "delete: no longer declared"
    assert "it holds 2 objects (versions and delete markers included)" in plan["s3_bucket.gone-full"]
    assert "it is protected (it was last applied with protect: true, the default)" in plan["s3_bucket.kept"]
    result = tool.apply(loaded)
    assert [(o.address, o.status) for o in result.outcomes] == [
        ("s3_bucket.gone-full", "blocked"),
        ("s3_bucket.kept", "blocked"),
        ("s3_bucket.gone-empty", "done"),
    ]
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == ["gone-full", "kept"]


def test_a_foreign_bucket_with_a_declared_name_is_blocked_and_left_untouched(tool: Tool, s3: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    loaded = tool.write(STATE)
    plan = tool.plan(loaded).plan
    action = plan.actions[0]
    assert (action.action, action.blocked is not None) == ("create", True)
    assert action.blocked and "without the tag reconciler:address=s3_bucket." + BUCKET in action.blocked.reason
    result = tool.apply(loaded)
    assert [o.status for o in result.outcomes] == ["blocked"]
    with pytest.raises(ClientError) as untagged:
        s3.get_bucket_tagging(Bucket=BUCKET)
    assert error_code(untagged.value) == "NoSuchTagSet"
    assert s3.get_bucket_versioning(Bucket=BUCKET).get("Status") is None


def test_managed_buckets_outside_the_states_regions_are_not_looked_at(tool: Tool) -> None:
    eu = connect("s3", "eu-west-1")
    eu.create_bucket(Bucket="eu-orphan", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_tagging(Bucket="eu-orphan", Tagging={"TagSet": [{"Key": "reconciler:address", "Value": "s3_bucket.eu-orphan"}]})
    loaded = tool.write("aws: {region: us-east-1}\n")
    assert tool.shown(loaded) == {}
    assert set(tool.calls) == {"ListBuckets"}


def test_a_failed_step_says_what_failed_and_the_next_plan_shows_what_is_left(tool: Tool, s3: Any) -> None:
    """The bucket is deleted behind the tool's back between plan and apply (moto injects no faults)."""
    loaded = tool.write(STATE)
    assert tool.apply(loaded).ok
    _suspend_versioning(s3)
    ctx = tool.context(loaded)
    planned = make_plan(loaded, ctx)
    s3.delete_bucket(Bucket=BUCKET)
    result = apply_planned(planned, ctx, lambda _: None, lambda _: None)
    [outcome] = result.outcomes
    assert outcome.status == "failed"
    assert outcome.message.startswith("failed setting versioning Enabled: NoSuchBucket (PutBucketVersioning)")
    assert tool.shown(loaded) == {f"s3_bucket.{BUCKET}": "create: "}
