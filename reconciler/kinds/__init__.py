"""The one list of kinds. Adding a kind: a model in model/spec.py, a folder here, a line below.

Each kind's module is imported when the kind is first made, not with this list: a command that
never plans (validate, schema) loads no client library, `docs` loads only the EC2 kind, and a plan
makes only the kinds its state uses (``in_use``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.kinds.base import Kind, KindFactory, RunContext

if TYPE_CHECKING:
    from reconciler.model.spec import State


def _lazy(module: str) -> KindFactory:
    """The kind whose KIND is in ``module``, imported when it is first made."""

    def make(ctx: RunContext) -> Kind:
        kind: Kind = importlib.import_module(module).KIND(ctx)
        return kind

    return make


KINDS: dict[str, KindFactory] = {
    "network": _lazy("reconciler.kinds.network.kind"),
    "volume": _lazy("reconciler.kinds.volume.kind"),
    "proxy": _lazy("reconciler.kinds.proxy.kind"),  # before container: a replace switches the proxy that runs
    "container": _lazy("reconciler.kinds.container.kind"),
    "disk_budget": _lazy("reconciler.kinds.disk_budget.kind"),
    "ec2_instance": _lazy("reconciler.kinds.ec2_instance.kind"),
    "s3_bucket": _lazy("reconciler.kinds.s3_bucket.kind"),
    "cost_doc": _lazy("reconciler.kinds.cost_doc.kind"),  # last: it reads the markets the others observed
}
"""Kinds are observed at once and diffed in this order; apply orders their actions by depends_on."""


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
