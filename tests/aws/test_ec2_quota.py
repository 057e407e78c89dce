"""The vCPU quota before a launch. EC2 is moto's server (real HTTP); Service Quotas is not served by
moto for ec2, so its client here is a real boto3 client under botocore's Stubber, answering what
AWS answers (the quota's value, the open requests, a filed request, its status). The planner runs
with the ec2_instance kind alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from reconciler.apply.executor import ApplyResult, apply_planned
from reconciler.clients.aws import connect
from reconciler.kinds.base import RunContext
from reconciler.kinds.ec2_instance import kind as ec2_instance
from reconciler.model.load import load_state
from reconciler.planner import make_plan
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

REGION = "us-east-1"
STANDARD = "L-1216C47A"
WORKER = f"""
aws: {{region: {REGION}}}
ec2_instances:
  phase2-worker:
    instance_type: c7i.8xlarge
    ami: ami-0123456789abcdef0
"""


@pytest.fixture
def quotas(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A stubbed Service Quotas client, and the master already running: a t3.2xlarge, 8 vCPUs."""
    monkeypatch.setattr("reconciler.planner.KINDS", {"ec2_instance": ec2_instance.KIND})
    monkeypatch.setattr(ec2_instance.Ec2InstanceKind, "poll_seconds", 0.05)
    monkeypatch.setattr(ec2_instance.Ec2InstanceKind, "quota_poll_seconds", 0.05)
    connect("ec2", REGION).run_instances(ImageId="ami-0123456789abcdef0", InstanceType="t3.2xlarge", MinCount=1, MaxCount=1)
    stubber = Stubber(connect("service-quotas", REGION))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def quota_is(stubber: Stubber, value: float) -> None:
    stubber.add_response(
        "get_service_quota",
        {"Quota": {"ServiceCode": "ec2", "QuotaCode": STANDARD, "Value": value}},
        {"ServiceCode": "ec2", "QuotaCode": STANDARD},
    )


def requested(request_id: str, status: str, value: float) -> dict[str, Any]:
    return {"Id": request_id, "ServiceCode": "ec2", "QuotaCode": STANDARD, "DesiredValue": value, "Status": status}


def open_requests_are(stubber: Stubber, *requests: dict[str, Any]) -> None:
    stubber.add_response(
        "list_requested_service_quota_change_history_by_quota",
        {"RequestedQuotas": list(requests)},
        {"ServiceCode": "ec2", "QuotaCode": STANDARD},
    )


def status_is(stubber: Stubber, request_id: str, status: str, value: float) -> None:
    stubber.add_response(
        "get_requested_service_quota_change", {"RequestedQuota": requested(request_id, status, value)}, {"RequestId": request_id}
    )


def context(directory: Path, stubber: Stubber, progress: list[str] | None = None, **flags: Any) -> RunContext:
    loaded = load_state(directory)
    return RunContext(
        state=loaded.state, state_dir=directory, now=datetime.now(UTC),
        clients={f"service-quotas:{REGION}": stubber.client},
        progress=(lambda address, message: progress.append(message)) if progress is not None else lambda *_: None,
        **flags,
    )  # fmt: skip


def apply(directory: Path, ctx: RunContext) -> ApplyResult:
    return apply_planned(make_plan(load_state(directory), ctx), ctx, lambda _: None, lambda _: None)


def workers() -> list[str]:
    ec2 = connect("ec2", REGION)
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "instance-type", "Values": ["c7i.8xlarge"]}])
    return [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]


def test_not_enough_quota_blocks_with_the_numbers_and_launches_nothing(quotas: Stubber, tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(WORKER)
    quota_is(quotas, 8.0)
    quota_is(quotas, 8.0)
    planned = make_plan(load_state(tmp_path), context(tmp_path, quotas))
    [action] = planned.plan.actions
    assert action.action == "create"
    assert action.blocked is not None
    assert action.blocked.reason == (
        "not enough vCPU quota: needs 32 vCPUs, 8 of 8 in use, quota 8 "
        "(L-1216C47A, Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, us-east-1)"
    )
    assert action.blocked.remedy.startswith("`reconcile apply --request-quota` asks for 40")
    assert planned.plan.findings == []
    result = apply(tmp_path, context(tmp_path, quotas))
    assert [o.status for o in result.outcomes] == ["blocked"]
    assert workers() == []


def test_request_quota_files_the_increase_and_says_the_launch_waits(quotas: Stubber, tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(WORKER)
    quota_is(quotas, 8.0)
    open_requests_are(quotas, requested("old", "DENIED", 16.0))
    quotas.add_response(
        "request_service_quota_increase",
        {"RequestedQuota": requested("req-1", "PENDING", 40.0)},
        {"ServiceCode": "ec2", "QuotaCode": STANDARD, "DesiredValue": 40.0},
    )
    result = apply(tmp_path, context(tmp_path, quotas, request_quota=True))
    [outcome] = result.outcomes
    assert (outcome.status, outcome.message) == (
        "failed",
        "requested L-1216C47A 8 → 40 vCPUs in us-east-1 (request req-1); then failed: the quota increase request req-1 "
        "is PENDING: needs 32 vCPUs, 8 of 8 in use, quota 8; not launched: apply again once it is granted "
        "(or wait for it with --wait-for-quota 2h)",
    )
    assert workers() == []


def test_wait_for_quota_follows_the_open_request_and_launches_when_granted(quotas: Stubber, tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(WORKER)
    quota_is(quotas, 8.0)
    open_requests_are(quotas, requested("066226bd", "CASE_OPENED", 64.0))
    status_is(quotas, "066226bd", "CASE_OPENED", 64.0)
    status_is(quotas, "066226bd", "APPROVED", 64.0)
    progress: list[str] = []
    ctx = context(tmp_path, quotas, progress, wait_for_quota=timedelta(minutes=5))
    planned = make_plan(load_state(tmp_path), ctx)
    [action] = planned.plan.actions
    assert action.blocked is None
    assert action.reasons == ["vCPU quota: needs 32 vCPUs, 8 of 8 in use, quota 8: apply requests 40 first"]
    result = apply_planned(planned, ctx, lambda _: None, lambda _: None)
    [outcome] = result.outcomes
    assert outcome.status == "done", outcome.message
    [worker] = workers()
    assert outcome.message == (
        "found the open quota request 066226bd for L-1216C47A → 64 (CASE_OPENED); quota L-1216C47A granted: 64; "
        f"launched {worker} (c7i.8xlarge, on-demand)"
    )
    assert any(line.startswith("waiting for quota request 066226bd (CASE_OPENED): 4m5") for line in progress)


def test_a_denied_request_fails_the_wait(quotas: Stubber, tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(WORKER)
    quota_is(quotas, 8.0)
    open_requests_are(quotas, requested("req-2", "PENDING", 40.0))
    status_is(quotas, "req-2", "DENIED", 40.0)
    result = apply(tmp_path, context(tmp_path, quotas, wait_for_quota=timedelta(minutes=5)))
    [outcome] = result.outcomes
    assert outcome.status == "failed"
    assert outcome.message.endswith("then failed: the quota increase request req-2 was DENIED; not launched")
    assert workers() == []
