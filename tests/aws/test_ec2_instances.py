"""EC2 instances against moto's server: a real HTTP endpoint reached through AWS_ENDPOINT_URL, as a
user points the tool at an emulator. The planner runs with the ec2_instance kind alone, so no
Docker engine is involved. moto does not serve Service Quotas for ec2, so every launch here plans
with a `quota-unknown` warning; the quota itself is tested in test_ec2_quota.py (botocore Stubber)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyResult, apply_planned
from reconciler.clients.aws import connect
from reconciler.kinds.base import RunContext
from reconciler.kinds.ec2_instance import kind as ec2_instance
from reconciler.model.load import LoadedState, load_state
from reconciler.planner import Planned, make_plan
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

REGION = "us-east-1"
AMI = "ami-0123456789abcdef0"  # moto launches any well-formed AMI id


def worker(**fields: Any) -> str:
    spec = {"instance_type": "c7i.8xlarge", "ami": AMI, "tags": "{Project: bqx-ml}", **fields}
    lines = "".join(f"    {key}: {value}\n" for key, value in spec.items())
    return f"aws: {{region: {REGION}}}\nec2_instances:\n  worker:\n{lines}"


@pytest.fixture(autouse=True)
def ec2_kind_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.planner.KINDS", {"ec2_instance": ec2_instance.KIND})
    monkeypatch.setattr(ec2_instance.Ec2InstanceKind, "poll_seconds", 0.05)


class Tool:
    """Plans and applies a state directory as `reconcile` does, counting every AWS call it makes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.calls: Counter[str] = Counter()
        self.clients = {f"ec2:{REGION}": connect("ec2", REGION), f"service-quotas:{REGION}": connect("service-quotas", REGION)}
        for client in self.clients.values():
            client.meta.events.register("before-call", self._count)
        self.progress: list[str] = []

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def write(self, text: str) -> LoadedState:
        (self.directory / "state.yaml").write_text(text)
        return load_state(self.directory)

    def context(self, loaded: LoadedState, now: datetime | None = None) -> RunContext:
        return RunContext(
            state=loaded.state, state_dir=loaded.directory, now=now or datetime.now(UTC), clients=dict(self.clients),
            progress=lambda address, message: self.progress.append(f"{address}: {message}"),
        )  # fmt: skip

    def plan(self, loaded: LoadedState, now: datetime | None = None) -> Planned:
        return make_plan(loaded, self.context(loaded, now))

    def apply(self, loaded: LoadedState, now: datetime | None = None) -> ApplyResult:
        ctx = self.context(loaded, now)
        return apply_planned(make_plan(loaded, ctx), ctx, lambda _: None, lambda _: None)

    def shown(self, loaded: LoadedState, now: datetime | None = None) -> dict[str, str]:
        """address → 'action: reasons [blocked: …]' for what is not a noop."""
        return {
            a.address: f"{a.action}: {'; '.join(a.reasons)}" + (f" [blocked: {a.blocked.reason}]" if a.blocked else "")
            for a in self.plan(loaded, now).plan.actions
            if a.is_change or a.blocked
        }


def live_instances() -> list[dict[str, Any]]:
    ec2 = connect("ec2", REGION)
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def the_instance() -> dict[str, Any]:
    [instance] = live_instances()
    return instance


@pytest.fixture
def tool(aws: MotoServer, tmp_path: Path) -> Tool:
    return Tool(tmp_path)


def test_lifecycle_create_noop_stop_start_resize_absent(tool: Tool) -> None:
    state = tool.write(worker())
    planned = tool.plan(state)
    [action] = planned.plan.actions
    assert action.action == "create"
    assert [f.code for f in planned.plan.findings] == ["quota-unknown"]  # moto does not serve Service Quotas for ec2
    result = tool.apply(state)
    assert result.ok, result.outcomes
    instance = the_instance()
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags == {
        "Name": "worker",
        "Project": "bqx-ml",
        "reconciler:address": "ec2_instance.worker",
        "reconciler:market": "on-demand",
        "reconciler:state": "default",
    }
    assert (instance["InstanceType"], instance["State"]["Name"]) == ("c7i.8xlarge", "running")

    tool.calls.clear()
    assert tool.shown(state) == {}
    assert tool.calls == {"DescribeInstances": 1}  # a converged plan: one listing per region, no quota call

    stopped = tool.write(worker(state="stopped"))
    assert tool.shown(stopped) == {"ec2_instance.worker": "update: stop"}
    assert tool.apply(stopped).ok
    assert the_instance()["State"]["Name"] == "stopped"

    running = tool.write(worker())
    assert tool.shown(running) == {"ec2_instance.worker": "update: start"}
    assert tool.apply(running).ok
    assert the_instance()["State"]["Name"] == "running"

    resized = tool.write(worker(instance_type="c7i.4xlarge", tags="{Project: bqx-ml, Phase: '2'}"))
    assert tool.shown(resized) == {
        "ec2_instance.worker": "update: instance_type changed (stop → modify → start); tags changed",
    }
    result = tool.apply(resized)
    assert result.ok, result.outcomes
    [outcome] = result.outcomes
    instance_id = instance["InstanceId"]
    assert outcome.message == (
        f"updated tags; stopped {instance_id}; changed the type c7i.8xlarge → c7i.4xlarge; started {instance_id}"
    )
    after = the_instance()
    assert (after["InstanceId"], after["InstanceType"], after["State"]["Name"]) == (instance_id, "c7i.4xlarge", "running")
    assert tool.shown(resized) == {}

    gone = tool.write(worker(instance_type="c7i.4xlarge", state="absent"))
    assert tool.shown(gone) == {"ec2_instance.worker": "delete: state: absent"}
    assert tool.apply(gone).ok
    assert live_instances() == []  # terminated instances do not count
    assert tool.shown(gone) == {}


def test_an_expired_worker_is_terminated_and_an_undeclared_one_too(tool: Tool) -> None:
    now = datetime.now(UTC)
    expires = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = tool.write(worker(expires_at=expires))
    assert tool.apply(state, now).ok
    later = now + timedelta(hours=2)
    assert tool.shown(state, later) == {"ec2_instance.worker": f"delete: expired at {expires}"}
    assert tool.apply(state, later).ok
    assert live_instances() == []
    assert tool.shown(state, later) == {}  # not launched again

    state = tool.write(worker())
    assert tool.apply(state).ok
    empty = tool.write(f"aws: {{region: {REGION}}}\n")
    assert tool.shown(empty) == {"ec2_instance.worker": "delete: no longer declared"}
    assert tool.apply(empty).ok
    assert live_instances() == []


def test_protect_never_stops_or_terminates(tool: Tool) -> None:
    state = tool.write(worker(protect="true"))
    assert tool.apply(state).ok
    assert {"Key": "reconciler:protect", "Value": "true"} in the_instance()["Tags"]
    for text in (worker(protect="true", state="stopped"), worker(protect="true", instance_type="c7i.4xlarge")):
        shown = tool.shown(tool.write(text))["ec2_instance.worker"]
        assert "[blocked: protect: true: reconcile never stops or terminates this instance" in shown
        result = tool.apply(tool.write(text))
        assert [o.status for o in result.outcomes] == ["blocked"]
    assert the_instance()["State"]["Name"] == "running"
    assert the_instance()["InstanceType"] == "c7i.8xlarge"
    orphaned = tool.write(f"aws: {{region: {REGION}}}\n")  # removed from the state: the tag still protects it
    assert "blocked" in tool.shown(orphaned)["ec2_instance.worker"]
    tool.apply(orphaned)
    assert the_instance()["State"]["Name"] == "running"


def test_plan_is_read_only(tool: Tool) -> None:
    state = tool.write(worker() + "  trillium-master:\n    instance_type: t3.2xlarge\n    ami: " + AMI + "\n")
    planned = tool.plan(state)
    assert [a.action for a in planned.plan.actions] == ["create", "create"]
    assert live_instances() == []
    assert {name for name in tool.calls if not name.startswith(("Describe", "Get", "List"))} == set()


def test_a_stopped_instance_is_launched_then_stopped(tool: Tool) -> None:
    state = tool.write(worker(state="stopped"))
    assert tool.apply(state).ok
    assert the_instance()["State"]["Name"] == "stopped"
    assert tool.shown(state) == {}


REPOSITORY = Path(__file__).resolve().parents[2]
RECONCILE = [sys.executable, "-m", "reconciler"]


def test_two_concurrent_applies_make_exactly_one_instance(aws: MotoServer, tmp_path: Path) -> None:
    """Two real `reconcile apply` processes on one state at the same moment. moto ignores ClientToken,
    so it is the state lock that keeps them apart: the second waits, re-plans and finds the instance.
    An AWS-only state: no Docker engine is involved."""
    (tmp_path / "state.yaml").write_text(worker())
    environment = {**os.environ, **aws.environment, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    command = [*RECONCILE, "apply", str(tmp_path), "--auto-approve", "--lock-timeout", "60s"]
    processes = [
        subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert len(live_instances()) == 1
    said = "".join(out + err for out, err in outputs)
    assert "waiting for the lock" in said or "state is locked" in said
    assert sum("launched i-" in out for out, _ in outputs) == 1  # the other found it in place: "No changes"


def test_apply_refuses_a_bad_wait_for_quota(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(worker())
    result = subprocess.run(
        [*RECONCILE, "apply", str(tmp_path), "--auto-approve", "--wait-for-quota", "soon"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: --wait-for-quota:")
    assert "Traceback" not in result.stderr
