"""Spot refused for capacity. moto never refuses capacity, so these tests run moto's
ThreadedMotoServer inside the test process (on its own free port) with its EC2 backend made to raise
InsufficientInstanceCapacity for every Spot launch; the tool still talks to it over real HTTP
through AWS_ENDPOINT_URL. The planner runs with the ec2_instance kind alone."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import InstanceBackend
from moto.server import ThreadedMotoServer

from reconciler.apply.executor import apply_planned
from reconciler.clients.aws import connect
from reconciler.kinds.base import RunContext
from reconciler.kinds.ec2_instance import kind as ec2_instance
from reconciler.model.load import load_state
from reconciler.planner import make_plan
from tests.support.moto_server import FAKE_CREDENTIALS

pytestmark = pytest.mark.aws

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def spot_refusing_server() -> Iterator[str]:
    """moto in this process, where every Spot launch is refused for capacity."""
    original = InstanceBackend.run_instances

    def run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("instance_market_options") == "spot":
            raise EC2ClientError(
                "InsufficientInstanceCapacity",
                f"We currently do not have sufficient {kwargs.get('instance_type')} capacity in the Availability Zone you requested.",
            )
        return original(self, *args, **kwargs)

    setattr(InstanceBackend, "run_instances", run_instances)  # noqa: B010 (a method, not an attribute, for mypy)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        setattr(InstanceBackend, "run_instances", original)  # noqa: B010


@pytest.fixture
def refusing(spot_refusing_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": spot_refusing_server}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setattr("reconciler.planner.KINDS", {"ec2_instance": ec2_instance.KIND})
    monkeypatch.setattr(ec2_instance.Ec2InstanceKind, "poll_seconds", 0.05)
    ec2 = connect("ec2", REGION)
    ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
    return tmp_path


def state_with(directory: Path, fallback: str) -> Path:
    (directory / "state.yaml").write_text(
        f"aws: {{region: {REGION}}}\n"
        "ec2_instances:\n"
        "  phase2-worker:\n"
        "    instance_type: c7i.8xlarge\n"
        "    ami: ami-0123456789abcdef0\n"
        "    market: spot\n"
        f"    spot_fallback: {fallback}\n"
    )
    return directory


def context(directory: Path, progress: list[str]) -> RunContext:
    loaded = load_state(directory)
    return RunContext(
        state=loaded.state, state_dir=directory, now=datetime.now(UTC),
        progress=lambda address, message: progress.append(f"{address}: {message}"),
    )  # fmt: skip


def live() -> list[dict[str, Any]]:
    ec2 = connect("ec2", REGION)
    return [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("shutting-down", "terminated")
    ]


def test_spot_refused_falls_back_to_on_demand_loudly_and_the_plan_shows_the_real_market(refusing: Path) -> None:
    directory = state_with(refusing, "on-demand")
    progress: list[str] = []
    ctx = context(directory, progress)
    result = apply_planned(make_plan(load_state(directory), ctx), ctx, lambda _: None, lambda _: None)
    assert result.ok, result.outcomes
    [outcome] = result.outcomes
    assert "ON-DEMAND, NOT SPOT: Spot capacity was refused (InsufficientInstanceCapacity (RunInstances)" in outcome.message
    assert "it bills the On-Demand price" in outcome.message
    assert "ec2_instance.phase2-worker: Spot refused (InsufficientInstanceCapacity): launching ON-DEMAND instead" in progress

    [instance] = live()
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert (tags["reconciler:market"], tags["reconciler:fallback"]) == ("on-demand", "spot-capacity")
    assert "InstanceLifecycle" not in instance  # it really runs On-Demand

    planned = make_plan(load_state(directory), context(directory, []))
    [action] = planned.plan.actions
    assert action.action == "noop"
    assert action.reasons == ["runs On-Demand: Spot capacity was refused at launch (spot_fallback: on-demand)"]
    seen = planned.steps["ec2_instance.phase2-worker"].observed
    assert seen is not None and (seen.data.market, seen.data.instance_type) == ("on-demand", "c7i.8xlarge")


def test_spot_refused_with_fallback_fail_fails_the_step_with_the_reason(refusing: Path) -> None:
    directory = state_with(refusing, "fail")
    ctx = context(directory, [])
    result = apply_planned(make_plan(load_state(directory), ctx), ctx, lambda _: None, lambda _: None)
    [outcome] = result.outcomes
    assert outcome.status == "failed"
    assert outcome.message.startswith("Spot capacity was refused (InsufficientInstanceCapacity (RunInstances): We currently")
    assert outcome.message.endswith(
        "and spot_fallback is fail: not launched (set spot_fallback: on-demand to launch On-Demand instead)"
    )
    assert live() == []
