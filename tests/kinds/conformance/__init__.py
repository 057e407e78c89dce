"""What a kind gives the conformance suite (tests/kinds/test_conformance.py): one module here named
after the kind, holding FACTORY (how to declare one of its resources and how to make one on the engine
as another state's, as a legacy one or as an unmanaged one) or SKIP (why it has none). A kind
registered in reconciler/kinds without a module here fails the suite: a new kind is tested without
being named in it."""

from __future__ import annotations

import importlib
from typing import Literal, Protocol

import docker

Owner = Literal["another state", "legacy", "unmanaged"]
OTHER_STATE = "green"  # the state the suite's "another state's" resources belong to


class Factory(Protocol):
    section: str  # the state's key: "networks"

    def declare(self, name: str, host: str) -> str:
        """One resource's declaration, as a YAML flow mapping: "{host: local}"."""
        ...

    def make(self, client: docker.APIClient, name: str, owner: Owner, host: str) -> None:
        """The resource on the engine, as ``owner`` would have made it."""
        ...

    def listing(self, client: docker.APIClient, prefix: str) -> list[str]:
        """Everything of this kind on the engine whose name starts with ``prefix``, with what would
        change if it were written (ids, labels): equal before and after a read-only command."""
        ...


def stamp(address: str, host: str) -> dict[str, str]:
    """The labels reconcile puts on a Docker resource it makes for state OTHER_STATE (written out
    here, not taken from the code under test)."""
    return {
        "reconciler.managed": "true",
        "reconciler.address": address,
        "reconciler.host": host,
        "reconciler.state": OTHER_STATE,
    }


def factory_of(kind: str) -> Factory | str:
    """The kind's factory, or why it has none (a skip reason)."""
    try:
        module = importlib.import_module(f"{__name__}.{kind}")
    except ModuleNotFoundError:
        raise AssertionError(f"kind {kind} has no tests/kinds/conformance/{kind}.py (FACTORY or SKIP)") from None
    skip: str | None = getattr(module, "SKIP", None)
    if skip is not None:
        return skip
    factory: Factory = module.FACTORY
    return factory
