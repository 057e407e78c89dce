"""The EC2 instance diff, pure: a desired spec and an observed instance as literals → the plan text
a user reads (one action, its reasons, its changes, its block), and the findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from reconciler.kinds.ec2_instance.view import (
    QuotaFacts,
    QuotaNeed,
    SeenInstance,
    instance_findings,
    plan_action,
    seen_instance,
    twins_by_name,
    vcpu_demand,
)
from reconciler.model.spec import Ec2Instance
from reconciler.plan.schema import Action
from reconciler.render.text import action_lines

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AMI = "ami-0123456789abcdef0"
WORKER: dict[str, Any] = {
    "region": "us-east-1",
    "instance_type": "c7i.8xlarge",
    "ami": AMI,
    "market": "spot",
    "spot_fallback": "on-demand",
    "tags": {"Project": "bqx-ml"},
}
RUNNING = SeenInstance(
    instance_id="i-0abc",
    region="us-east-1",
    instance_type="c7i.8xlarge",
    state="running",
    market="spot",
    ami=AMI,
    tags={"Name": "worker", "Project": "bqx-ml"},
)
STANDARD = QuotaFacts("us-east-1", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 8, 8)


def spec(**changes: Any) -> Ec2Instance:
    return Ec2Instance.model_validate({**WORKER, **changes})


def diff(desired: Ec2Instance | None, seen: SeenInstance | None, quota: QuotaNeed | None = None, request: bool = False) -> Action:
    return plan_action("worker", desired, seen, "sha256:seen", NOW, quota, request)


def text(action: Action) -> str:
    return action_lines(action).plain if action.is_change or action.blocked else "noop"


def test_a_missing_instance_is_created_with_what_was_declared() -> None:
    assert text(diff(spec(), None)) == (
        "  # ec2_instance.worker will be created\n"
        "  + ec2_instance.worker\n"
        '      + region: "us-east-1"\n'
        '      + instance_type: "c7i.8xlarge"\n'
        '      + ami: "ami-0123456789abcdef0"\n'
        '      + market: "spot"\n'
        '      + spot_fallback: "on-demand"\n'
        '      + tags.Project: "bqx-ml"\n'
        '      + state: "running"\n'
    )


def test_an_instance_as_declared_is_a_noop() -> None:
    assert text(diff(spec(), RUNNING)) == "noop"
    assert text(diff(spec(state="absent"), None)) == "noop"


def test_stop_and_start() -> None:
    assert text(diff(spec(state="stopped"), RUNNING)) == (
        '  # ec2_instance.worker will be updated in place (stop)\n  ~ ec2_instance.worker\n      ~ state: "running" → "stopped"\n'
    )
    assert text(diff(spec(), replace(RUNNING, state="stopped"))) == (
        "  # ec2_instance.worker will be updated in place (start)\n"
        "  ~ ec2_instance.worker\n"
        '      ~ state: "stopped" → "running"\n'
    )


def test_a_type_change_on_a_running_instance_stops_modifies_and_starts() -> None:
    assert text(diff(spec(instance_type="c7i.4xlarge"), RUNNING)) == (
        "  # ec2_instance.worker will be updated in place (instance_type changed (stop → modify → start))\n"
        "  ~ ec2_instance.worker\n"
        '      ~ instance_type: "c7i.8xlarge" → "c7i.4xlarge"\n'
    )
    stopped = diff(spec(instance_type="c7i.4xlarge", state="stopped"), replace(RUNNING, state="stopped"))
    assert stopped.reasons == ["instance_type changed"]


def test_tags_drift_is_an_update() -> None:
    action = diff(spec(), replace(RUNNING, tags={"Name": "worker", "Project": "old", "Owner": "console"}))
    assert text(action) == (
        "  # ec2_instance.worker will be updated in place (tags changed)\n"
        "  ~ ec2_instance.worker\n"
        '      ~ tags: {"Name": "worker", "Project": "old", "Owner": "console"} → {"Name": "worker", "Project": "bqx-ml"}\n'
    )


def test_after_expires_at_the_instance_is_terminated() -> None:
    expiring = spec(expires_at="2026-11-17T00:00:00Z")
    assert text(diff(expiring, RUNNING)) == (
        "  # ec2_instance.worker will be destroyed (expired at 2026-11-17T00:00:00Z)\n"
        "  - ec2_instance.worker\n"
        '      ~ state: "running" → "terminated"\n'
    )
    assert diff(expiring, None).action == "noop"
    assert diff(expiring, None).reasons == ["expired at 2026-11-17T00:00:00Z; not launched"]
    assert diff(spec(expires_at="2026-12-01T00:00:00Z"), RUNNING).action == "noop"


def test_absent_and_undeclared_instances_are_terminated() -> None:
    assert diff(spec(state="absent"), RUNNING).reasons == ["state: absent"]
    assert diff(None, RUNNING).reasons == ["no longer declared"]
    assert diff(None, RUNNING).action == "delete"


def test_protect_blocks_what_would_stop_or_terminate_and_allows_the_rest() -> None:
    guarded = replace(RUNNING, protected=True)
    blocked = diff(spec(protect=True, state="stopped"), guarded)
    assert (blocked.action, blocked.blocked is not None) == ("update", True)
    assert text(blocked).splitlines()[-2:] == [
        "      ! blocked: protect: true: reconcile never stops or terminates this instance, and stop would stop it",
        "        remedy: set protect: false and apply first, if this is really meant",
    ]
    resize = diff(spec(protect=True, instance_type="c7i.4xlarge"), guarded)
    assert resize.blocked is not None and "instance_type changed" in resize.blocked.reason
    expired = diff(spec(protect=True, expires_at="2026-01-01T00:00:00Z"), guarded)
    assert (expired.action, expired.blocked is not None) == ("delete", True)
    orphan = diff(None, guarded)  # no longer declared: the tag it was launched with still protects it
    assert orphan.blocked is not None and "no longer declared would terminate it" in orphan.blocked.reason
    started = diff(spec(protect=True), replace(guarded, state="stopped"))
    assert (started.action, started.blocked) == ("update", None)


def test_not_enough_quota_blocks_the_launch_with_the_numbers_and_the_remedy() -> None:
    action = diff(spec(market="on-demand", spot_fallback=None), None, QuotaNeed(STANDARD, 32))
    assert action.action == "create"
    assert text(action).splitlines()[-2:] == [
        "      ! blocked: not enough vCPU quota: needs 32 vCPUs, 8 of 8 in use, quota 8 "
        "(L-1216C47A, Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, us-east-1)",
        "        remedy: `reconcile apply --request-quota` asks for 40 (add `--wait-for-quota 2h` to launch once granted), "
        "or request it in the console: https://us-east-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-1216C47A",
    ]


def test_earlier_launches_in_the_plan_count_against_the_same_quota() -> None:
    facts = replace(STANDARD, value=48)
    assert diff(spec(), None, QuotaNeed(facts, 32)).blocked is None
    later = diff(spec(), None, QuotaNeed(facts, 32, ahead=32))
    assert later.blocked is not None
    assert "needs 32 vCPUs, 8 of 48 in use, 32 more for earlier launches in this plan, quota 48" in later.blocked.reason


def test_a_start_is_checked_against_the_quota_too() -> None:
    action = diff(spec(), replace(RUNNING, state="stopped"), QuotaNeed(STANDARD, 32))
    assert (action.action, action.blocked is not None) == ("update", True)


def test_with_request_quota_the_shortfall_is_a_reason_not_a_block() -> None:
    action = diff(spec(), None, QuotaNeed(STANDARD, 32), request=True)
    assert action.blocked is None
    assert action.reasons == ["vCPU quota: needs 32 vCPUs, 8 of 8 in use, quota 8: apply requests 40 first"]


def test_an_unknown_quota_is_a_warning_and_no_block() -> None:
    unknown = QuotaNeed(replace(STANDARD, value=None, unknown="NoSuchResourceException"), 32)
    assert diff(spec(), None, unknown).blocked is None
    [finding] = instance_findings("worker", spec(), None, unknown)
    assert (finding.severity, finding.code) == ("warning", "quota-unknown")
    assert "NoSuchResourceException" in finding.message


def test_spot_fallback_reads_as_the_market_that_runs_and_is_no_change() -> None:
    fell_back = replace(RUNNING, market="on-demand", fallback="spot-capacity")
    action = diff(spec(), fell_back)
    assert action.action == "noop"
    assert action.reasons == ["runs On-Demand: Spot capacity was refused at launch (spot_fallback: on-demand)"]
    assert instance_findings("worker", spec(), fell_back, None) == []  # the cost finding spot-fallback says it, with dollars


def test_a_market_that_differs_without_a_fallback_is_a_warning() -> None:
    [finding] = instance_findings("worker", spec(), replace(RUNNING, market="on-demand"), None)
    assert finding.code == "market-differs"
    assert diff(spec(), replace(RUNNING, market="on-demand")).action == "noop"


def test_an_ami_change_replaces() -> None:
    action = diff(spec(ami="ami-0fedcba9876543210"), RUNNING)
    assert (action.action, action.reasons) == ("replace", ["ami changed"])


def test_the_observed_record_reads_the_real_market_from_our_tag_else_the_lifecycle() -> None:
    record: dict[str, Any] = {
        "InstanceId": "i-1",
        "InstanceType": "c7i.8xlarge",
        "State": {"Name": "running"},
        "ImageId": AMI,
        "InstanceLifecycle": "spot",
        "Tags": [{"Key": "reconciler:address", "Value": "ec2_instance.worker"}, {"Key": "Name", "Value": "worker"}],
    }
    seen = seen_instance(record, "us-east-1")
    assert (seen.market, seen.tags, seen.protected) == ("spot", {"Name": "worker"}, False)
    record.pop("InstanceLifecycle")
    record["Tags"] += [
        {"Key": "reconciler:market", "Value": "on-demand"},
        {"Key": "reconciler:fallback", "Value": "spot-capacity"},
    ]
    assert (seen_instance(record, "us-east-1").market, seen_instance(record, "us-east-1").fallback) == (
        "on-demand",
        "spot-capacity",
    )


def test_what_needs_new_vcpus() -> None:
    assert vcpu_demand(spec(), None, NOW) is not None
    assert vcpu_demand(spec(), RUNNING, NOW) is None
    assert vcpu_demand(spec(state="stopped"), None, NOW) is None
    assert vcpu_demand(spec(expires_at="2026-01-01T00:00:00Z"), None, NOW) is None
    resize = vcpu_demand(spec(instance_type="c7i.16xlarge"), RUNNING, NOW)
    assert resize is not None and resize.freed_type == "c7i.8xlarge"


# --- adoption: a declared instance not found by our tag, with an untagged live twin ---------------

TWIN = replace(RUNNING, instance_id="i-0twin", unmanaged=True)


def test_one_matching_twin_is_adopted_by_our_tags_only() -> None:
    action = diff(spec(protect=True), TWIN)
    assert (action.action, action.blocked) == ("update", None)
    assert action.reasons == ["adopt: unmanaged instance i-0twin matches its declaration; apply adds our tags"]
    assert [(c.path, c.before, c.after) for c in action.changes] == [
        ("tags.reconciler:address", None, "ec2_instance.worker"),
        ("tags.reconciler:state", None, "default"),
        ("tags.reconciler:protect", None, "true"),
    ]
    assert [c.path for c in diff(spec(), TWIN).changes] == [  # protect: false writes none
        "tags.reconciler:address",
        "tags.reconciler:state",
    ]
    assert vcpu_demand(spec(), TWIN, NOW) is None  # no quota is asked: nothing is launched
    assert instance_findings("worker", spec(), replace(TWIN, market="on-demand"), None) == []


def test_a_stopped_twin_of_a_stopped_declaration_is_adopted() -> None:
    assert diff(spec(state="stopped"), replace(TWIN, state="stopped")).action == "update"


def test_a_twin_that_differs_blocks_the_launch_naming_what_differs() -> None:
    action = diff(spec(instance_type="c7i.4xlarge", state="stopped"), TWIN)
    assert action.action == "create" and action.blocked is not None
    assert action.changes == []
    assert "i-0twin" in action.blocked.reason and "does not launch a second one" in action.blocked.reason
    assert "instance_type (is 'c7i.8xlarge', declared 'c7i.4xlarge')" in action.blocked.reason
    assert "state (is 'running', declared 'stopped')" in action.blocked.reason
    assert "ami" not in action.blocked.reason.split("differs from its declaration")[1]
    assert "reconcile import --aws" in action.blocked.remedy and "create-tags --resources i-0twin" in action.blocked.remedy
    market = diff(spec(market="on-demand", spot_fallback=None), TWIN)
    assert market.blocked is not None and "market (is 'spot', declared 'on-demand')" in market.blocked.reason


def test_several_twins_block_the_launch_naming_them() -> None:
    action = diff(spec(), replace(TWIN, duplicates=("i-0other",)))
    assert action.action == "create" and action.blocked is not None
    assert "i-0twin, i-0other" in action.blocked.reason
    shared = diff(spec(), replace(TWIN, claimed_by=("worker-2",)))
    assert shared.blocked is not None and "ec2_instance.worker-2" in shared.blocked.reason


def test_a_twin_of_an_absent_declaration_is_left_alone() -> None:
    assert diff(spec(state="absent"), TWIN).action == "noop"


def test_twins_are_found_by_import_naming() -> None:
    def record(instance_id: str, name: str | None = None, ours: bool = False) -> dict[str, Any]:
        tags = [{"Key": "Name", "Value": name}] if name else []
        if ours:
            tags.append({"Key": "reconciler:address", "Value": "ec2_instance.x"})
        return {"InstanceId": instance_id, "Tags": tags}

    records = [
        record("i-1", "web server"),
        record("i-2", "api"),
        record("i-3", "api"),
        record("i-4"),
        record("i-5", "db", ours=True),
        record("i-6", "cache-2"),
    ]
    found = twins_by_name(["web-server", "api", "api-2", "i-4", "db", "cache-2", "other"], records)
    assert {name: [r["InstanceId"] for r in rs] for name, rs in found.items()} == {
        "web-server": ["i-1"],  # the Name tag as import makes it a valid name
        "api": ["i-2", "i-3"],
        "api-2": ["i-2", "i-3"],  # import's -2 for a repeated name
        "i-4": ["i-4"],  # no Name tag: the id
        "cache-2": ["i-6"],  # a Name that really ends in -2 wins over the repeat suffix
    }
    twin = seen_instance(
        {"InstanceId": "i-2", "InstanceType": "t3.micro", "State": {"Name": "running"}}, "us-east-1", ("i-3",), ("api-2",)
    )
    assert (twin.unmanaged, twin.duplicates, twin.claimed_by) == (True, ("i-3",), ("api-2",))
    assert not seen_instance({"InstanceId": "i-9", "InstanceType": "t3.micro", "State": {"Name": "running"}}, "x").unmanaged
