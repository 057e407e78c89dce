"""The one list of kinds. Adding a kind: a model in model/spec.py, a module here, a line below.

Each kind's module is imported when the kind is first made, not with this list: a command that
never plans (validate, schema) loads no client library, `docs` loads only the EC2 kind, and a plan
makes only the kinds its state uses (``in_use``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.kinds.base import Kind, KindFactory, RunContext

if TYPE_CHECKING:
    from reconciler.model.spec import State


def _network(ctx: RunContext) -> Kind:
    from reconciler.kinds.network.kind import KIND

    return KIND(ctx)


def _container(ctx: RunContext) -> Kind:
    from reconciler.kinds.container.kind import KIND

    return KIND(ctx)


def _disk_budget(ctx: RunContext) -> Kind:
    from reconciler.kinds.disk_budget.kind import KIND

    return KIND(ctx)


def _ec2_instance(ctx: RunContext) -> Kind:
    from reconciler.kinds.ec2_instance.kind import KIND

    return KIND(ctx)


def _s3_bucket(ctx: RunContext) -> Kind:
    from reconciler.kinds.s3_bucket.kind import KIND

    return KIND(ctx)


def _cost_doc(ctx: RunContext) -> Kind:
    from reconciler.kinds.cost_doc.kind import KIND

    return KIND(ctx)


KINDS: dict[str, KindFactory] = {
    "network": _network,  # before container: a container joins networks that exist
    "container": _container,
    "disk_budget": _disk_budget,
    "ec2_instance": _ec2_instance,
    "s3_bucket": _s3_bucket,
    "cost_doc": _cost_doc,  # last: it reads the markets the others observed
}


def _uses_aws(state: State, section: str) -> bool:
    return bool(getattr(state, section)) or state.aws.region is not None


IDLE_UNLESS: dict[str, Callable[[State], bool]] = {
    "disk_budget": lambda state: bool(state.disk_budgets),
    "ec2_instance": lambda state: _uses_aws(state, "ec2_instances"),
    "s3_bucket": lambda state: _uses_aws(state, "s3_buckets"),
    "cost_doc": lambda state: bool(state.cost_docs),
}
"""Kinds that observe nothing, so plan nothing, unless the state declares some of their resources
(the AWS kinds: or names aws.region, where they look for the resources they made). Containers and
networks are always looked at: removing the last one from the state deletes it."""


def in_use(name: str, state: State) -> bool:
    return name not in IDLE_UNLESS or IDLE_UNLESS[name](state)
