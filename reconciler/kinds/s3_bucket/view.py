"""S3 buckets as plain views (pure, no I/O): the desired spec and what the S3 API answered, each
turned into the same shape, and compared field by field into changes a user reads.

A view: {region, versioning, encryption, kms_key_id, block_public_access: {FLAG: bool},
lifecycle: {RULE_ID: {…}}, tags: {…}, protect}. The API's "not configured" answers (404 for
encryption, public access block, lifecycle, tags) arrive here as None and are states, not errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.kinds.identity import ADDRESS_TAG, STATE_TAG, aws_stamp
from reconciler.model.spec import LifecycleRule, S3Bucket

PROTECT_TAG = "reconciler:protect"
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
READ_RULE_KEYS = {"ID", "Filter", "Prefix", "Status", "Expiration", "NoncurrentVersionExpiration", "Transitions"}
NEVER_VERSIONED = "Disabled"  # what we call a bucket whose versioning was never enabled


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


def address_of(name: str) -> str:
    return f"s3_bucket.{name}"


# --- desired ------------------------------------------------------------------------------------


def rule_view(rule: LifecycleRule) -> dict[str, Any]:
    return {
        "prefix": rule.prefix,
        "status": "Enabled",
        "expire_days": rule.expire_days,
        "noncurrent_expire_days": rule.noncurrent_expire_days,
        "transition_days": rule.transition_days,
        "storage_class": rule.storage_class,
    }


def desired_view(spec: S3Bucket) -> dict[str, Any]:
    return {
        "region": spec.region,
        "versioning": "Enabled" if spec.versioning else "Suspended",
        "encryption": spec.encryption,
        "kms_key_id": spec.kms_key_id,
        "block_public_access": dict.fromkeys(PUBLIC_ACCESS_FLAGS, spec.block_public_access),
        "lifecycle": {rule.id: rule_view(rule) for rule in spec.lifecycle},
        "tags": dict(spec.tags),
        "protect": spec.protect,
    }


def bucket_tags(name: str, spec: S3Bucket, state: str) -> dict[str, str]:
    """Every tag the bucket carries: the declared ones and ours (address, protect, the state's name)."""
    return {**spec.tags, **aws_stamp(address_of(name), state), PROTECT_TAG: "true" if spec.protect else "false"}


# --- observed -----------------------------------------------------------------------------------


def _observed_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One rule as GetBucketLifecycleConfiguration returns it; what reconcile does not declare
    (tag filters, a second transition, multipart aborts, …) is kept under `other`, so it shows."""
    filter_ = dict(rule.get("Filter") or {})
    if "And" in filter_:
        filter_ = {**filter_.pop("And"), **filter_}
    prefix = filter_.pop("Prefix", rule.get("Prefix", ""))
    expiration = dict(rule.get("Expiration") or {})
    noncurrent = dict(rule.get("NoncurrentVersionExpiration") or {})
    transitions = list(rule.get("Transitions") or [])
    first = dict(transitions[0]) if transitions else {}
    other: dict[str, Any] = {}
    if filter_:
        other["filter"] = filter_
    if set(expiration) - {"Days"}:
        other["expiration"] = {k: v for k, v in expiration.items() if k != "Days"}
    if set(noncurrent) - {"NoncurrentDays"}:
        other["noncurrent_expiration"] = {k: v for k, v in noncurrent.items() if k != "NoncurrentDays"}
    if len(transitions) > 1 or set(first) - {"Days", "StorageClass"}:
        other["transitions"] = transitions
    for key in sorted(set(rule) - READ_RULE_KEYS):
        other[key] = rule[key]
    view = {
        "prefix": prefix,
        "status": rule.get("Status", "Enabled"),
        "expire_days": expiration.get("Days"),
        "noncurrent_expire_days": noncurrent.get("NoncurrentDays"),
        "transition_days": first.get("Days"),
        "storage_class": first.get("StorageClass"),
    }
    return {**view, "other": other} if other else view


def observed_view(
    region: str,
    versioning: dict[str, Any],
    encryption: dict[str, Any] | None,
    public_access_block: dict[str, Any] | None,
    lifecycle: list[dict[str, Any]] | None,
    tags: list[dict[str, str]] | None,
) -> dict[str, Any]:
    """The S3 API's answers (None: "not configured") → a view."""
    default = ((encryption or {}).get("Rules") or [{}])[0].get("ApplyServerSideEncryptionByDefault") or {}
    tag_map = {tag["Key"]: tag["Value"] for tag in tags or []}
    flags = public_access_block or {}
    return {
        "region": region,
        "versioning": versioning.get("Status") or NEVER_VERSIONED,
        "encryption": default.get("SSEAlgorithm", "none"),
        "kms_key_id": default.get("KMSMasterKeyID"),
        "block_public_access": {flag: bool(flags.get(flag, False)) for flag in PUBLIC_ACCESS_FLAGS},
        "lifecycle": {str(rule.get("ID", "")): _observed_rule(rule) for rule in lifecycle or []},
        "tags": {k: v for k, v in tag_map.items() if not k.startswith(("reconciler:", "aws:"))},
        "protect": tag_map.get(PROTECT_TAG, "true") != "false",
    }


def managed_address(tags: list[dict[str, str]] | None) -> str | None:
    """The address our tag names, if the bucket carries it."""
    return next((tag["Value"] for tag in tags or [] if tag["Key"] == ADDRESS_TAG), None)


def stamped_state(tags: list[dict[str, str]] | None) -> str | None:
    """The state name our tag names, if the bucket carries it."""
    return next((tag["Value"] for tag in tags or [] if tag["Key"] == STATE_TAG), None)


# --- compare ------------------------------------------------------------------------------------


def _versioning_holds(desired: str, observed: str) -> bool:
    """Versioning once enabled can only be suspended: declared off holds for never-enabled too."""
    return desired == observed or (desired == "Suspended" and observed == NEVER_VERSIONED)


def _encryption_holds(desired: str, observed: str) -> bool:
    """AWS encrypts every bucket with SSE-S3 and that cannot be removed: declared `none` holds for it."""
    return desired == observed or (desired == "none" and observed == "AES256")


def _by_key(path: str, desired: dict[str, Any], observed: dict[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(f"{path}.{key}", observed.get(key), desired.get(key))
        for key in sorted(set(desired) | set(observed))
        if desired.get(key) != observed.get(key)
    ]


def compare(desired: dict[str, Any], observed: dict[str, Any]) -> list[FieldChange]:
    """Field by field, in the order a user reads the spec."""
    changes: list[FieldChange] = []
    if desired["region"] != observed["region"]:
        changes.append(FieldChange("region", observed["region"], desired["region"]))
    if not _versioning_holds(desired["versioning"], observed["versioning"]):
        changes.append(FieldChange("versioning", observed["versioning"], desired["versioning"]))
    if not _encryption_holds(desired["encryption"], observed["encryption"]):
        changes.append(FieldChange("encryption", observed["encryption"], desired["encryption"]))
    if desired["encryption"] == "aws:kms" == observed["encryption"] and desired["kms_key_id"] != observed["kms_key_id"]:
        changes.append(FieldChange("kms_key_id", observed["kms_key_id"], desired["kms_key_id"]))
    changes += _by_key("block_public_access", desired["block_public_access"], observed["block_public_access"])
    for rule_id in sorted(set(desired["lifecycle"]) | set(observed["lifecycle"])):
        wanted, seen = desired["lifecycle"].get(rule_id), observed["lifecycle"].get(rule_id)
        if wanted is None or seen is None:
            changes.append(FieldChange(f"lifecycle.{rule_id}", compact(seen), compact(wanted)))
        else:
            changes += _by_key(f"lifecycle.{rule_id}", wanted, seen)
    changes += _by_key("tags", desired["tags"], observed["tags"])
    if desired["protect"] != observed["protect"]:
        changes.append(FieldChange("protect", observed["protect"], desired["protect"]))
    return changes


def compact(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """A lifecycle rule as shown: only the settings it has."""
    return None if rule is None else {key: value for key, value in rule.items() if value is not None}


def reason(change: FieldChange) -> str:
    if change.path.startswith("lifecycle.") and change.path.count(".") == 1:
        rule_id = change.path.partition(".")[2]
        if change.before is None:
            return f"lifecycle rule {rule_id} missing"
        if change.after is None:
            return f"lifecycle rule {rule_id} not declared"
    return f"{change.path} changed"


def section_of(path: str) -> str:
    """Which S3 setting a changed path is written through: versioning, encryption,
    block_public_access, lifecycle or tags (protect is a tag)."""
    head = path.partition(".")[0]
    return {"kms_key_id": "encryption", "protect": "tags"}.get(head, head)


def shown_on_create(spec: S3Bucket) -> list[FieldChange]:
    """What a new bucket will have, one line per setting."""
    view = desired_view(spec)
    lines = [FieldChange(key, None, view[key]) for key in ("region", "versioning", "encryption")]
    if spec.kms_key_id:
        lines.append(FieldChange("kms_key_id", None, spec.kms_key_id))
    lines.append(FieldChange("block_public_access", None, spec.block_public_access))
    lines += [FieldChange(f"lifecycle.{rule_id}", None, compact(rule)) for rule_id, rule in view["lifecycle"].items()]
    lines += [FieldChange(f"tags.{key}", None, value) for key, value in sorted(spec.tags.items())]
    lines.append(FieldChange("protect", None, spec.protect))
    return lines


# --- requests -----------------------------------------------------------------------------------


def lifecycle_request(spec: S3Bucket) -> list[dict[str, Any]]:
    """The declared rules as PutBucketLifecycleConfiguration takes them."""
    rules = []
    for rule in spec.lifecycle:
        request: dict[str, Any] = {"ID": rule.id, "Filter": {"Prefix": rule.prefix}, "Status": "Enabled"}
        if rule.expire_days is not None:
            request["Expiration"] = {"Days": rule.expire_days}
        if rule.noncurrent_expire_days is not None:
            request["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule.noncurrent_expire_days}
        if rule.transition_days is not None:
            request["Transitions"] = [{"Days": rule.transition_days, "StorageClass": rule.storage_class}]
        rules.append(request)
    return rules


def encryption_request(spec: S3Bucket) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": spec.encryption}
    if spec.kms_key_id:
        default["KMSMasterKeyID"] = spec.kms_key_id
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}


def tag_set(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
