"""State identity, pure: settings.name is validated where it is written; each kind's diff sees only
its own state's resources as its own, blocks a declaration whose name another state holds (naming
that state), and claims a resource made before state names (no state name on it) without a replace."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.kinds.base import RunContext
from reconciler.kinds.container.kind import ContainerKind, config_hash, observation
from reconciler.kinds.ec2_instance.view import SeenInstance, plan_action, vcpu_demand
from reconciler.kinds.s3_bucket.kind import S3BucketKind, SeenBucket, _observation
from reconciler.kinds.s3_bucket.view import observed_view
from reconciler.model.load import load_state
from reconciler.model.spec import Container, Ec2Instance, S3Bucket, Settings, State
from reconciler.plan.schema import Action
from tests.unit.test_container_diff import SPEC

FIXTURES = Path(__file__).parent / "fixtures"
RECORD: dict[str, Any] = json.loads((FIXTURES / "inspect_container.json").read_text())
IMAGE: dict[str, Any] = json.loads((FIXTURES / "inspect_image_busybox.json").read_text())
RECORD["Config"]["Labels"]["reconciler.managed"] = "true"
RECORD["State"].update(Status="running", Running=True)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

CONTAINER: dict[str, Any] = SPEC  # the container of the diff tests, as a legacy or another state's


def context(name: str = "blue") -> RunContext:
    return RunContext(state=State(settings=Settings(name=name)), state_dir=Path("."), now=NOW)


def one_line(action: Action) -> str:
    changes = ", ".join(f"{c.path}: {json.dumps(c.before)} → {json.dumps(c.after)}" for c in action.changes)
    blocked = f" [blocked: {action.blocked.reason}]" if action.blocked else ""
    return f"{action.action} {action.address}" + (f" ({changes})" if changes else "") + blocked


# --- settings.name --------------------------------------------------------------------------------


def test_the_name_defaults_to_default_like_a_compose_project() -> None:
    assert State().settings.name == "default"


@pytest.mark.parametrize("bad", ["Blue", "team_a", "-blue", "blue team", "", "a" * 64])
def test_a_bad_name_is_an_error_at_its_place(tmp_path: Path, bad: str) -> None:
    (tmp_path / "settings.yaml").write_text(f"settings:\n  name: {json.dumps(bad)}\n")
    with pytest.raises(ConfigError) as caught:
        load_state(tmp_path, environ={})
    [error] = [str(d).removeprefix(f"{tmp_path}/") for d in caught.value.diagnostics]
    assert error.startswith("settings.yaml:2:9: settings.name"), error
    assert "lowercase letters, digits and '-'" in error


# --- containers -----------------------------------------------------------------------------------


def container_diff(state: str | None, declared: bool = True, adopted: bool = False, **changes: Any) -> Action:
    """The diff of state `blue` for a container reconcile made under ``state`` (None: before state names)."""
    record = copy.deepcopy(RECORD)
    labels = record["Config"]["Labels"]
    labels.pop("reconciler.state", None)
    if state is not None:
        labels["reconciler.state"] = state
    seen = observation("local", record, IMAGE, IMAGE, "json-file", {}, adopted=adopted, state="blue")
    desired = Container.model_validate({**CONTAINER, **changes}) if declared else None
    return ContainerKind(context()).diff("fixture", desired, seen)


def test_our_own_container_plans_as_always() -> None:
    assert one_line(container_diff("blue")) == "noop container.fixture"
    assert one_line(container_diff("blue", declared=False)) == "delete container.fixture"


def test_another_states_container_is_never_planned_and_its_name_is_a_blocked_create() -> None:
    assert one_line(container_diff("green", declared=False)) == "noop container.fixture"
    blocked = container_diff("green")
    assert blocked.action == "create" and blocked.blocked is not None and not blocked.changes
    assert "belongs to state green" in blocked.blocked.reason and "state green" in blocked.blocked.remedy


def test_a_legacy_container_is_claimed_by_the_declaring_state_without_a_replace() -> None:
    assert one_line(container_diff(None)) == 'update container.fixture (owner: null → "blue")'
    assert "claim" in container_diff(None).reasons[0]
    assert one_line(container_diff(None, restart="always")) == (
        'update container.fixture (restart: "unless-stopped" → "always", owner: null → "blue")'
    )


def test_a_legacy_container_that_must_be_replaced_is_claimed_by_its_replacement() -> None:
    action = container_diff(None, image="reconciler-test/busybox:2")
    assert action.action == "replace"
    assert "its replacement carries reconciler.state=blue" in action.reasons[-1]


def test_a_claimed_legacy_container_is_ours() -> None:
    assert one_line(container_diff(None, adopted=True)) == "noop container.fixture"
    assert one_line(container_diff(None, declared=False, adopted=True)) == "delete container.fixture"


def test_a_legacy_container_no_state_declares_is_never_deleted() -> None:
    assert one_line(container_diff(None, declared=False)) == "noop container.fixture"


def test_the_config_hash_is_the_spec_alone_so_the_state_label_never_forces_a_replace() -> None:
    spec = Container.model_validate(CONTAINER)
    assert config_hash(spec) == config_hash(Container.model_validate(CONTAINER))
    assert "reconciler.state" not in json.dumps(spec.model_dump(mode="json"))


# --- S3 buckets -----------------------------------------------------------------------------------

BUCKET = "team-exports"
BUCKET_SPEC = S3Bucket.model_validate({"region": "us-east-1", "versioning": True, "encryption": "AES256", "tags": {"T": "1"}})


def bucket(owner: Any, state: str | None = None, versioning: str = "Enabled") -> SeenBucket:
    tags = [{"Key": "T", "Value": "1"}, {"Key": "reconciler:address", "Value": f"s3_bucket.{BUCKET}"}]
    tags.append({"Key": "reconciler:protect", "Value": "true"})
    view = observed_view(
        "us-east-1",
        {"Status": versioning},
        {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True),
        None,
        tags,
    )
    return SeenBucket(BUCKET, "us-east-1", owner, None if owner == "another state" else view, state=state)


def bucket_diff(seen: SeenBucket, declared: bool = True) -> Action:
    return S3BucketKind(context()).diff(BUCKET, BUCKET_SPEC if declared else None, _observation(seen))


def test_another_states_bucket_is_a_blocked_create_naming_it() -> None:
    action = bucket_diff(bucket("another state", "green"))
    assert action.action == "create" and action.blocked is not None
    assert "belongs to state green" in action.blocked.reason
    assert one_line(bucket_diff(bucket("another state", "green"), declared=False)) == "noop s3_bucket.team-exports"


def test_a_legacy_bucket_is_claimed_by_a_tag_in_place_and_never_deleted_by_a_state_that_does_not_declare_it() -> None:
    assert one_line(bucket_diff(bucket("legacy"))) == 'update s3_bucket.team-exports (tags.reconciler:state: null → "blue")'
    drifted = bucket_diff(bucket("legacy", versioning="Suspended"))
    assert [c.path for c in drifted.changes] == ["versioning", "tags.reconciler:state"]
    assert one_line(bucket_diff(bucket("legacy"), declared=False)) == "noop s3_bucket.team-exports"


def test_adopting_an_unmanaged_bucket_stamps_our_state() -> None:
    action = bucket_diff(replace(bucket("unmanaged"), state=None))
    assert action.action == "update"
    assert {c.path: c.after for c in action.changes}["tags.reconciler:state"] == "blue"


# --- EC2 instances --------------------------------------------------------------------------------

WORKER = Ec2Instance.model_validate({"region": "us-east-1", "instance_type": "t3.micro", "ami": "ami-0123456789abcdef0"})
SEEN = SeenInstance("i-0abc", "us-east-1", "t3.micro", "running", "on-demand", "ami-0123456789abcdef0", {"Name": "worker"})


def ec2_diff(seen: SeenInstance, declared: bool = True) -> Action:
    return plan_action("worker", WORKER if declared else None, seen, "sha256:x", NOW, state="blue")


def test_another_states_instance_is_a_blocked_create_and_never_terminated() -> None:
    theirs = replace(SEEN, state_name="green", other_state="green")
    action = ec2_diff(theirs)
    assert action.action == "create" and action.blocked is not None and "belongs to state green" in action.blocked.reason
    assert vcpu_demand(WORKER, theirs, NOW) is None  # nothing is launched for it
    assert ec2_diff(theirs, declared=False).action == "noop"


def test_a_legacy_instance_is_claimed_by_a_tag_in_place() -> None:
    action = ec2_diff(replace(SEEN, legacy=True))
    assert one_line(action) == 'update ec2_instance.worker (tags.reconciler:state: null → "blue")'
    assert one_line(ec2_diff(SEEN)) == "noop ec2_instance.worker"


def test_a_legacy_instance_no_state_declares_is_never_terminated() -> None:
    assert ec2_diff(replace(SEEN, legacy=True), declared=False).action == "noop"
