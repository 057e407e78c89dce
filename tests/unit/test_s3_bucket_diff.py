"""The S3 bucket diff, pure: a declared bucket + the S3 API's answers (literals, shaped as moto and
AWS return them; None where the API answers 404 "not configured") → what a user reads in the plan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.kinds.base import Observation, RunContext
from reconciler.kinds.s3_bucket.kind import COUNT_LIMIT, S3BucketKind, SeenBucket, _observation
from reconciler.kinds.s3_bucket.view import observed_view
from reconciler.model.spec import S3Bucket, State
from reconciler.plan.schema import Action

NAME = "bqx-ml-phase2-features"
KIND = S3BucketKind(RunContext(state=State(), state_dir=Path("."), now=datetime.now(UTC)))

SPEC: dict[str, Any] = {
    "region": "us-east-1",
    "versioning": True,
    "encryption": "AES256",
    "block_public_access": True,
    "lifecycle": [
        {"id": "expire-tmp", "prefix": "tmp/", "expire_days": 7, "noncurrent_expire_days": 30},
        {"id": "archive", "prefix": "exports/", "transition_days": 30, "storage_class": "STANDARD_IA"},
    ],
    "tags": {"Project": "bqx-ml"},
}
ALL_FOUR = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def api_rules() -> list[dict[str, Any]]:
    return [
        {
            "ID": "expire-tmp",
            "Filter": {"Prefix": "tmp/"},
            "Status": "Enabled",
            "Expiration": {"Days": 7},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        },
        {
            "ID": "archive",
            "Filter": {"Prefix": "exports/"},
            "Status": "Enabled",
            "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
        },
    ]


def api_tags(protect: str = "true", **extra: str) -> list[dict[str, str]]:
    tags = {"Project": "bqx-ml", "reconciler:address": f"s3_bucket.{NAME}", "reconciler:protect": protect, **extra}
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def seen(
    versioning: dict[str, Any] | None = None,
    encryption: dict[str, Any] | None = None,
    public_access_block: dict[str, Any] | None = None,
    lifecycle: list[dict[str, Any]] | None = None,
    tags: list[dict[str, str]] | None = None,
    region: str = "us-east-1",
    objects: int | None = None,
) -> Observation:
    """A managed bucket as the API answers for it; by default exactly as SPEC configures it."""
    view = observed_view(
        region,
        {"Status": "Enabled"} if versioning is None else versioning,
        {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]} if encryption is None else encryption,
        ALL_FOUR if public_access_block is None else public_access_block,
        api_rules() if lifecycle is None else lifecycle,
        api_tags() if tags is None else tags,
    )
    return _observation(SeenBucket(NAME, region, "reconcile", view, objects))


def spec(**changes: Any) -> S3Bucket:
    return S3Bucket.model_validate({**SPEC, **changes})


def shown(action: Action) -> list[str]:
    """The action as a user reads it: a head line, one line per change, the block if any."""
    why = f" ({'; '.join(action.reasons)})" if action.reasons else ""
    lines = [f"{action.action} {action.address}{why}"]
    lines += [f"{c.path}: {c.before!r} → {c.after!r}" for c in action.changes]
    if action.blocked:
        lines += [f"blocked: {action.blocked.reason}", f"remedy: {action.blocked.remedy}"]
    return lines


def diff(desired: S3Bucket | None, observed: Observation | None) -> list[str]:
    return shown(KIND.diff(NAME, desired, observed))


def test_a_missing_bucket_is_created_with_each_setting_on_its_line() -> None:
    assert diff(spec(), None) == [
        f"create s3_bucket.{NAME}",
        "region: None → 'us-east-1'",
        "versioning: None → 'Enabled'",
        "encryption: None → 'AES256'",
        "block_public_access: None → True",
        "lifecycle.expire-tmp: None → {'prefix': 'tmp/', 'status': 'Enabled', 'expire_days': 7, 'noncurrent_expire_days': 30}",
        "lifecycle.archive: None → {'prefix': 'exports/', 'status': 'Enabled', 'transition_days': 30, 'storage_class': 'STANDARD_IA'}",
        "tags.Project: None → 'bqx-ml'",
        "protect: None → True",
    ]


def test_a_bucket_as_declared_is_a_noop() -> None:
    assert diff(spec(), seen()) == [f"noop s3_bucket.{NAME}"]


def test_not_configured_is_a_state_not_an_error() -> None:
    """A fresh bucket on moto: 404 for encryption, public access block, lifecycle; no versioning status."""
    fresh = seen(versioning={}, encryption={}, public_access_block={}, lifecycle=[])
    declared = spec(versioning=False, encryption="none", block_public_access=False, lifecycle=[])
    assert diff(declared, fresh) == [f"noop s3_bucket.{NAME}"]
    assert diff(spec(), fresh) == [
        f"update s3_bucket.{NAME} (versioning changed; encryption changed; block_public_access.BlockPublicAcls changed; "
        "block_public_access.BlockPublicPolicy changed; block_public_access.IgnorePublicAcls changed; "
        "block_public_access.RestrictPublicBuckets changed; lifecycle rule archive missing; lifecycle rule expire-tmp missing)",
        "versioning: 'Disabled' → 'Enabled'",
        "encryption: 'none' → 'AES256'",
        "block_public_access.BlockPublicAcls: False → True",
        "block_public_access.BlockPublicPolicy: False → True",
        "block_public_access.IgnorePublicAcls: False → True",
        "block_public_access.RestrictPublicBuckets: False → True",
        "lifecycle.archive: None → {'prefix': 'exports/', 'status': 'Enabled', 'transition_days': 30, 'storage_class': 'STANDARD_IA'}",
        "lifecycle.expire-tmp: None → {'prefix': 'tmp/', 'status': 'Enabled', 'expire_days': 7, 'noncurrent_expire_days': 30}",
    ]


def test_versioning_suspended_in_the_console_is_an_update() -> None:
    assert diff(spec(), seen(versioning={"Status": "Suspended"})) == [
        f"update s3_bucket.{NAME} (versioning changed)",
        "versioning: 'Suspended' → 'Enabled'",
    ]


def test_versioning_off_holds_for_a_bucket_never_versioned_and_suspends_an_enabled_one() -> None:
    assert diff(spec(versioning=False), seen(versioning={})) == [f"noop s3_bucket.{NAME}"]
    assert diff(spec(versioning=False), seen(versioning={"Status": "Suspended"})) == [f"noop s3_bucket.{NAME}"]
    assert diff(spec(versioning=False), seen())[1:] == ["versioning: 'Enabled' → 'Suspended'"]


def test_encryption_algorithm_and_kms_key_drift() -> None:
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "key-1"}}]}
    assert diff(spec(), seen(encryption=kms))[1:] == ["encryption: 'aws:kms' → 'AES256'"]
    assert diff(spec(encryption="aws:kms", kms_key_id="key-2"), seen(encryption=kms))[1:] == ["kms_key_id: 'key-1' → 'key-2'"]
    assert diff(spec(encryption="aws:kms"), seen(encryption=kms))[1:] == ["kms_key_id: 'key-1' → None"]


def test_encryption_none_holds_for_the_sse_s3_every_aws_bucket_has() -> None:
    assert diff(spec(encryption="none"), seen()) == [f"noop s3_bucket.{NAME}"]


def test_one_public_access_flag_turned_off_is_named() -> None:
    assert diff(spec(), seen(public_access_block={**ALL_FOUR, "RestrictPublicBuckets": False})) == [
        f"update s3_bucket.{NAME} (block_public_access.RestrictPublicBuckets changed)",
        "block_public_access.RestrictPublicBuckets: False → True",
    ]


def test_a_lifecycle_rule_removed_changed_or_added_in_the_console() -> None:
    rules = api_rules()
    assert diff(spec(), seen(lifecycle=rules[1:]))[0] == f"update s3_bucket.{NAME} (lifecycle rule expire-tmp missing)"
    rules[0]["Expiration"] = {"Days": 14}
    rules[1]["Transitions"] = [{"Days": 60, "StorageClass": "GLACIER"}]
    assert diff(spec(), seen(lifecycle=rules))[1:] == [
        "lifecycle.archive.storage_class: 'GLACIER' → 'STANDARD_IA'",
        "lifecycle.archive.transition_days: 60 → 30",
        "lifecycle.expire-tmp.expire_days: 14 → 7",
    ]
    extra = {"ID": "console", "Filter": {"Prefix": ""}, "Status": "Disabled", "Expiration": {"Days": 1}}
    assert diff(spec(), seen(lifecycle=[*api_rules(), extra])) == [
        f"update s3_bucket.{NAME} (lifecycle rule console not declared)",
        "lifecycle.console: {'prefix': '', 'status': 'Disabled', 'expire_days': 1} → None",
    ]


def test_lifecycle_settings_reconcile_does_not_declare_show_as_drift() -> None:
    rules = api_rules()
    rules[0]["Filter"] = {"And": {"Prefix": "tmp/", "Tags": [{"Key": "k", "Value": "v"}]}}
    rules[0]["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": 3}
    rules[1]["Status"] = "Disabled"
    assert diff(spec(), seen(lifecycle=rules))[1:] == [
        "lifecycle.archive.status: 'Disabled' → 'Enabled'",
        "lifecycle.expire-tmp.other: {'filter': {'Tags': [{'Key': 'k', 'Value': 'v'}]}, "
        "'AbortIncompleteMultipartUpload': {'DaysAfterInitiation': 3}} → None",
    ]


def test_tags_changed_added_or_removed_and_aws_tags_ignored() -> None:
    tags = api_tags(Owner="someone", **{"aws:cloudformation:stack-name": "x"})
    tags[0]["Value"] = "other"
    assert diff(spec(tags={"Project": "bqx-ml", "Team": "ml"}), seen(tags=tags))[1:] == [
        "tags.Owner: 'someone' → None",
        "tags.Project: 'other' → 'bqx-ml'",
        "tags.Team: None → 'ml'",
    ]


def test_protect_is_recorded_on_the_bucket() -> None:
    assert diff(spec(protect=False), seen())[1:] == ["protect: True → False"]


def test_a_bucket_in_another_region_is_a_blocked_replace() -> None:
    assert diff(spec(), seen(region="eu-west-1")) == [
        f"replace s3_bucket.{NAME} (region changed)",
        "region: 'eu-west-1' → 'us-east-1'",
        f"blocked: bucket {NAME} is in eu-west-1; a bucket's region cannot change, and replacing it would delete its data",
        "remedy: declare region: eu-west-1, or copy the data to a new bucket with another name",
    ]


def test_a_declared_bucket_we_do_not_manage_is_a_blocked_create() -> None:
    foreign = _observation(SeenBucket(NAME, "us-east-1", "unmanaged", None))
    assert diff(spec(), foreign)[-2:] == [
        f"blocked: bucket {NAME} exists in us-east-1 without the tag reconciler:address=s3_bucket.{NAME}, "
        "so reconcile does not manage it (bucket names are global)",
        f"remedy: choose another bucket name, or adopt this bucket by tagging it reconciler:address=s3_bucket.{NAME}",
    ]
    elsewhere = _observation(SeenBucket(NAME, "", "another account", None))
    assert diff(spec(), elsewhere)[0] == f"create s3_bucket.{NAME} (the name is taken by another AWS account)"
    assert diff(None, foreign) == [f"noop s3_bucket.{NAME}"]


def test_a_managed_bucket_no_longer_declared_is_deleted_only_unprotected_and_empty() -> None:
    assert diff(None, seen(tags=api_tags(protect="false"), objects=0)) == [f"delete s3_bucket.{NAME} (no longer declared)"]
    assert diff(None, seen(objects=0))[-2:] == [
        f"blocked: bucket {NAME} is not deleted: it is protected (it was last applied with protect: true, the default)",
        "remedy: declare it again with protect: false and apply, then remove it; or declare it again to keep it",
    ]
    assert diff(None, seen(tags=api_tags(protect="false"), objects=3))[-2:] == [
        f"blocked: bucket {NAME} is not deleted: it holds 3 objects (versions and delete markers included), "
        "and reconcile never deletes a non-empty bucket",
        f"remedy: empty it yourself first (e.g. aws s3 rm s3://{NAME} --recursive, and its old versions); "
        "or declare it again to keep it",
    ]
    assert "it holds at least 10000 objects" in diff(None, seen(objects=COUNT_LIMIT))[-2]


def test_a_bucket_without_our_protect_tag_counts_as_protected() -> None:
    untagged = [tag for tag in api_tags() if tag["Key"] != "reconciler:protect"]
    assert "it is protected" in diff(None, seen(tags=untagged, objects=0))[-2]


def test_the_observed_digest_follows_the_settings() -> None:
    assert seen().digest == seen().digest
    assert seen().digest != seen(versioning={"Status": "Suspended"}).digest
    assert seen(objects=0).digest != seen(objects=1).digest


def test_a_state_without_buckets_or_aws_region_makes_no_aws_call() -> None:
    """A containers-only state plans without AWS credentials: not even a client is made."""
    ctx = RunContext(state=State(), state_dir=Path("."), now=datetime.now(UTC))
    assert S3BucketKind(ctx).observe({}) == {}
    assert ctx.clients == {}


def twin(region: str = "us-east-1", **api: Any) -> Observation:
    """A declared bucket in our account without our tags (made by hand): read in full, owner unmanaged."""
    tags = [tag for tag in api_tags() if not tag["Key"].startswith("reconciler:")]
    view = observed_view(
        region,
        api.get("versioning", {"Status": "Enabled"}),
        api.get("encryption", {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}),
        api.get("public_access_block", ALL_FOUR),
        api.get("lifecycle", api_rules()),
        api.get("tags", tags),
    )
    return _observation(SeenBucket(NAME, region, "unmanaged", view))


def test_an_unmanaged_twin_that_matches_is_adopted_by_adding_our_tags() -> None:
    assert diff(spec(), twin()) == [
        f"update s3_bucket.{NAME} (adopt: unmanaged bucket {NAME} in us-east-1 matches its declaration; apply adds our tags)",
        f"tags.reconciler:address: None → 's3_bucket.{NAME}'",
        "tags.reconciler:protect: None → 'true'",
        "tags.reconciler:state: None → 'default'",
    ]
    assert diff(spec(protect=False), twin())[-2] == "tags.reconciler:protect: None → 'false'"
    assert diff(None, twin()) == [f"noop s3_bucket.{NAME}"]  # not declared: left alone


def test_an_unmanaged_twin_that_differs_stays_blocked_and_names_the_fields() -> None:
    lines = diff(spec(), twin(versioning={}, tags=[{"Key": "Project", "Value": "other"}]))
    assert lines[0] == (
        f"create s3_bucket.{NAME} (a bucket named {NAME} already exists in us-east-1, unmanaged, "
        "and differs from its declaration)"
    )
    assert lines[1] == (
        f"blocked: bucket {NAME} exists in us-east-1 without the tag reconciler:address=s3_bucket.{NAME} and differs "
        "from its declaration: versioning (is 'Disabled', declared 'Enabled'), tags.Project (is 'other', declared 'bqx-ml'); "
        "reconcile adopts only a bucket that matches (bucket names are global)"
    )
    assert "`reconcile import --aws`" in lines[2]
    assert "region (is 'eu-west-1', declared 'us-east-1')" in diff(spec(), twin(region="eu-west-1"))[1]
    assert diff(spec(), twin(lifecycle=[]))[0].startswith(f"create s3_bucket.{NAME}")
