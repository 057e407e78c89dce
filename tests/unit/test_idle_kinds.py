"""A plan makes only the kinds its state uses (kinds.in_use): a kind left out must be one whose
observe would have found nothing and touched nothing, or a plan would miss a delete."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds import IDLE_UNLESS, KINDS, in_use
from reconciler.kinds.base import RunContext
from reconciler.model.spec import State

CONTAINERS_ONLY: dict[str, Any] = {"containers": {"web": {"image": "nginx:1.27"}}}


@pytest.mark.parametrize("name", sorted(IDLE_UNLESS))
def test_an_idle_kind_would_have_observed_nothing_and_called_nothing(name: str) -> None:
    state = State.model_validate(CONTAINERS_ONLY)
    context = RunContext(state=state, state_dir=Path("/nonexistent"), now=datetime.now(UTC))
    kind = KINDS[name](context)

    assert not in_use(name, state)
    assert kind.observe(getattr(state, kind.section)) == {}
    assert context.clients == {} and context.backend is None


@pytest.mark.parametrize(
    ("declared", "used"),
    [
        ({"disk_budgets": {"root": {"path": "/", "max_used_percent": 80}}}, {"disk_budget"}),
        ({"aws": {"region": "eu-west-1"}}, {"ec2_instance", "s3_bucket"}),  # where the resources it made are looked for
        ({"s3_buckets": {"logs-bucket-1": {"region": "eu-west-1"}}}, {"s3_bucket"}),
        (
            {"ec2_instances": {"w1": {"region": "eu-west-1", "instance_type": "t3.micro", "ami": "ami-0123456789abcdef0"}}},
            {"ec2_instance"},
        ),
        ({"cost_docs": [{"path": "COSTS.md"}]}, {"cost_doc"}),
    ],
)
def test_declaring_a_kind_s_resources_puts_it_in_use(declared: dict[str, Any], used: set[str]) -> None:
    state = State.model_validate(declared)

    assert {name for name in KINDS if in_use(name, state)} == {"network", "volume", "proxy", "container"} | used


def test_the_docker_kinds_are_always_in_use() -> None:
    """Removing the last container (network, volume or proxy) from the state must still plan its delete."""
    assert all(in_use(name, State()) for name in ("container", "network", "volume", "proxy"))
