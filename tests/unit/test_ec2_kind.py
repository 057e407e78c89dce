"""The ec2_instance kind without AWS: a state that declares no instance and names no aws.region
makes no AWS call at all (a containers-only state plans without AWS credentials)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.clients.quotas import fallback_vcpus, quota_class
from reconciler.kinds.base import RunContext
from reconciler.kinds.ec2_instance.kind import Ec2InstanceKind
from reconciler.model.spec import State


def test_a_state_without_aws_makes_no_aws_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing answers there
    ctx = RunContext(state=State(), state_dir=Path("."), now=datetime.now(UTC))
    assert Ec2InstanceKind(ctx).observe({}) == {}
    assert ctx.clients == {}


@pytest.mark.parametrize(
    ("instance_type", "market", "code"),
    [
        ("c7i.8xlarge", "on-demand", "L-1216C47A"),
        ("t3.2xlarge", "on-demand", "L-1216C47A"),
        ("c7i.8xlarge", "spot", "L-34B43A08"),
        ("g5.xlarge", "on-demand", "L-DB2E81BA"),
        ("dl1.24xlarge", "on-demand", "L-6E869C2A"),
        ("inf2.xlarge", "spot", "L-B5D1601B"),
        ("x2idn.16xlarge", "on-demand", "L-7295265B"),
        ("p4d.24xlarge", "on-demand", "L-417A185B"),
    ],
)
def test_the_shipped_table_names_each_family_s_quota(instance_type: str, market: str, code: str) -> None:
    found = quota_class(instance_type, market)
    assert found is not None and found.code == code


def test_the_shipped_vcpu_table() -> None:
    assert [fallback_vcpus(t) for t in ("c7i.8xlarge", "t3.2xlarge", "t2.micro", "c7g.medium", "m5.metal", "m7i.metal-24xl")] == [
        32, 8, 1, 1, 96, 96,
    ]  # fmt: skip
    assert fallback_vcpus("mac2.metal") is None
