"""What a kind gives the conformance suite (tests/kinds/test_conformance.py): one module here named
after the kind, holding FACTORY (how to declare one of its resources and how to make one on the engine
as another state's, as a legacy one or as an unmanaged one) or SKIP (why it has none). A kind
registered in reconciler/kinds without a module here fails the suite: a new kind is tested without
being named in it."""

from __future__ import annotations

import importlib
from typing import Literal, Protocol

import docker
import pytest

Owner = Literal["another state", "legacy", "unmanaged"]
OTHER_STATE = "green"  # the state the suite's "another state's" resources belong to


class Factory(Protocol):
    section: str  # the state's key: "networks"
    places: bool  # its resources live on hosts or regions the suite can make unreachable ("gone")
    gone: str  # that place, as the plan names it: "host gone", "region ap-south-2"

    def declare(self, name: str, place: str) -> str:
        """One resource's declaration, as a YAML flow mapping, on host ``place`` ("local", "gone")."""
        ...

    def bad_reference(self, name: str) -> tuple[str, str]:
        """A declaration that names what is not there (a host, a region), and a word its error says."""
        ...

    def make(self, name: str, owner: Owner) -> None:
        """The resource, made as ``owner`` would have made it."""
        ...

    def listing(self, prefix: str) -> list[str]:
        """Everything of this kind whose name starts with ``prefix``, with what would change if it
        were written (ids, labels, tags): equal before and after a read-only command."""
        ...


class Docker:
    """What the Docker kinds' factories share: the test engine (the docker_client fixture)."""

    places = True
    gone = "host gone"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.client: docker.APIClient = request.getfixturevalue("docker_client").api

    def bad_reference(self, name: str) -> tuple[str, str]:
        return self.declare(name, "nowhere"), "nowhere"

    def declare(self, name: str, place: str) -> str:
        raise NotImplementedError


def stamp(address: str, host: str) -> dict[str, str]:
    """The labels reconcile puts on a Docker resource it makes for state OTHER_STATE (written out
    here, not taken from the code under test)."""
    return {
        "reconciler.managed": "true",
        "reconciler.address": address,
        "reconciler.host": host,
        "reconciler.state": OTHER_STATE,
    }


def factory_of(kind: str, request: pytest.FixtureRequest) -> Factory | str:
    """The kind's factory (made with the fixtures it asks ``request`` for), or why it has none."""
    try:
        module = importlib.import_module(f"{__name__}.{kind}")
    except ModuleNotFoundError:
        raise AssertionError(f"kind {kind} has no tests/kinds/conformance/{kind}.py (FACTORY or SKIP)") from None
    skip: str | None = getattr(module, "SKIP", None)
    if skip is not None:
        return skip
    factory: Factory = module.FACTORY(request)
    return factory


GONE_REGION = "ap-south-2"  # the region the AWS kinds' "gone" place is: every call signed for it is denied


class Aws:
    """What the AWS kinds' factories share: moto's server, reached by reconcile through the fault proxy
    (tests/support/fault_proxy.py), which denies every call signed for GONE_REGION as a service control
    policy denying the region would; the factory's own clients go to moto directly."""

    places = True
    gone = f"region {GONE_REGION}"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        moto = request.getfixturevalue("aws")
        proxy = request.getfixturevalue("fault_proxy_server")
        proxy.clear()
        request.addfinalizer(proxy.clear)
        proxy.inject("*", "deny", count=1_000_000, region=GONE_REGION)
        request.getfixturevalue("monkeypatch").setenv("AWS_ENDPOINT_URL", proxy.url)
        self.endpoint = moto.url

    def region(self, place: str) -> str:
        return GONE_REGION if place == "gone" else "us-east-1"
