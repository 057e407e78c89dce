"""The one list of kinds. Adding a kind: a model in model/spec.py, a module here, a line below.

Each kind's module is imported when the kind is first made, not with this list: a command that
never plans (validate, schema) loads no client library, and `docs` loads only the EC2 kind."""

from __future__ import annotations

from reconciler.kinds.base import Kind, KindFactory, RunContext


def _network(ctx: RunContext) -> Kind:
    from reconciler.kinds.network import KIND

    return KIND(ctx)


def _container(ctx: RunContext) -> Kind:
    from reconciler.kinds.container import KIND

    return KIND(ctx)


def _disk_budget(ctx: RunContext) -> Kind:
    from reconciler.kinds.disk_budget import KIND

    return KIND(ctx)


def _ec2_instance(ctx: RunContext) -> Kind:
    from reconciler.kinds.ec2_instance import KIND

    return KIND(ctx)


def _s3_bucket(ctx: RunContext) -> Kind:
    from reconciler.kinds.s3_bucket import KIND

    return KIND(ctx)


def _cost_doc(ctx: RunContext) -> Kind:
    from reconciler.kinds.cost_doc import KIND

    return KIND(ctx)


KINDS: dict[str, KindFactory] = {
    "network": _network,  # before container: a container joins networks that exist
    "container": _container,
    "disk_budget": _disk_budget,
    "ec2_instance": _ec2_instance,
    "s3_bucket": _s3_bucket,
    "cost_doc": _cost_doc,  # last: it reads the markets the others observed
}
