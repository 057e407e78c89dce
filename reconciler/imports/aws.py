"""`reconcile import --aws`: S3 buckets and EC2 instances without our reconciler:address tag, in the
regions the state uses, as declarations. Read-only. Only what differs from the format's defaults is
declared; what the format cannot say is named in a note instead of being dropped silently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler.clients.aws import connect, error_code, explain
from reconciler.errors import ReconcileError
from reconciler.kinds.ec2_instance.view import LIVE_STATES, STOPPED, tag_name, user_tags
from reconciler.kinds.identity import ADDRESS_TAG
from reconciler.kinds.s3_bucket.view import PUBLIC_ACCESS_FLAGS, observed_view
from reconciler.model.spec import State

NOT_CONFIGURED = frozenset(
    {
        "NoSuchTagSet",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchLifecycleConfiguration",
    }
)
LIFECYCLE_FIELDS = ("prefix", "expire_days", "noncurrent_expire_days", "transition_days", "storage_class")


@dataclass
class AwsImport:
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def import_aws(state: State, say: Callable[[str], None]) -> AwsImport:
    regions = sorted(
        {state.aws.region or ""} | {b.region or "" for b in state.s3_buckets.values()}
        | {i.region or "" for i in state.ec2_instances.values()}
    )  # fmt: skip
    regions = [region for region in regions if region]
    if not regions:
        raise ReconcileError("import --aws: no region to look in: set aws.region in the desired state")
    found = AwsImport()
    for region in regions:
        say(f"reading S3 buckets and EC2 instances in {region}")
        try:
            _buckets(connect("s3", region), region, state, found)
            _instances(connect("ec2", region), region, state, found)
        except (ClientError, BotoCoreError) as error:
            raise ReconcileError(f"import --aws: {region}: {explain(error)}") from None
    return found


def _read(call: Callable[..., dict[str, Any]], bucket: str, key: str | None = None) -> Any:
    """One S3 read of ``bucket`` (the answer, or its ``key``); None for "not configured"."""
    try:
        answer = call(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in NOT_CONFIGURED:
            return None
        raise
    return answer.get(key) if key else answer


def _buckets(s3: Any, region: str, state: State, found: AwsImport) -> None:
    pages = s3.get_paginator("list_buckets").paginate(BucketRegion=region)
    for name in sorted(bucket["Name"] for page in pages for bucket in page.get("Buckets", [])):
        tags = _read(s3.get_bucket_tagging, name, "TagSet") or []
        if name in state.s3_buckets or any(tag["Key"] == ADDRESS_TAG for tag in tags):
            continue
        view = observed_view(
            region,
            _read(s3.get_bucket_versioning, name) or {},
            _read(s3.get_bucket_encryption, name, "ServerSideEncryptionConfiguration"),
            _read(s3.get_public_access_block, name, "PublicAccessBlockConfiguration"),
            _read(s3.get_bucket_lifecycle_configuration, name, "Rules"),
            tags,
        )
        found.buckets[name] = bucket_spec(name, view, found.notes)


def bucket_spec(name: str, view: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """A bucket's observed view → its declaration (pure)."""
    spec: dict[str, Any] = {"region": view["region"]}
    if view["versioning"] == "Enabled":
        spec["versioning"] = True
    if view["encryption"] != "AES256":
        spec["encryption"] = view["encryption"]
        if view["kms_key_id"]:
            spec["kms_key_id"] = view["kms_key_id"]
    flags = set(view["block_public_access"].values())
    if flags == {False}:
        spec["block_public_access"] = False
    elif len(flags) > 1:
        spec["block_public_access"] = False
        blocked = [flag for flag in PUBLIC_ACCESS_FLAGS if view["block_public_access"][flag]]
        notes.append(f"s3_bucket {name}: only some public access flags are set ({', '.join(blocked)}); declared as false")
    rules = []
    for rule_id, rule in view["lifecycle"].items():
        if rule.get("other") or rule["status"] != "Enabled":
            notes.append(f"s3_bucket {name}: lifecycle rule {rule_id} uses what the format cannot say; left out")
            continue
        rules.append({"id": rule_id, **{key: rule[key] for key in LIFECYCLE_FIELDS if rule[key] not in (None, "")}})
    if rules:
        spec["lifecycle"] = rules
    if view["tags"]:
        spec["tags"] = view["tags"]
    return spec


def _instances(ec2: Any, region: str, state: State, found: AwsImport) -> None:
    paginator = ec2.get_paginator("describe_instances")
    filters = [{"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
    for page in paginator.paginate(Filters=filters):
        for reservation in page.get("Reservations", []):
            for record in reservation.get("Instances", []):
                if any(tag["Key"] == ADDRESS_TAG for tag in record.get("Tags") or []):
                    continue
                name = instance_name(record, set(state.ec2_instances) | set(found.instances))
                found.instances[name] = instance_spec(record, region)


def instance_name(record: dict[str, Any], taken: set[str]) -> str:
    """The Name tag made a valid name, else the instance id; never one already used."""
    tags = {tag["Key"]: tag["Value"] for tag in record.get("Tags") or []}
    base = tag_name(tags.get("Name", "")) or record["InstanceId"]
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def instance_spec(record: dict[str, Any], region: str) -> dict[str, Any]:
    """One describe_instances record → its declaration (pure). Imported instances are protected:
    reconcile never stops or terminates them until the team says otherwise."""
    spec: dict[str, Any] = {
        "region": region,
        "instance_type": record["InstanceType"],
        "ami": record["ImageId"],
    }
    if record.get("InstanceLifecycle") == "spot":
        spec["market"] = "spot"
    if record["State"]["Name"] in STOPPED:
        spec["state"] = "stopped"
    if record.get("SubnetId"):
        spec["subnet_id"] = record["SubnetId"]
    groups = [group["GroupId"] for group in record.get("SecurityGroups") or []]
    if groups:
        spec["security_group_ids"] = groups
    if record.get("KeyName"):
        spec["key_name"] = record["KeyName"]
    profile = (record.get("IamInstanceProfile") or {}).get("Arn", "")
    if profile:
        spec["iam_instance_profile"] = profile.rpartition("/")[2]
    tags = {k: v for k, v in user_tags(record.get("Tags") or []).items() if k != "Name"}
    if tags:
        spec["tags"] = tags
    spec["protect"] = True
    return spec
