"""Fixtures for the tests that need a Docker engine (marked `docker`); see tests/support/docker_engine.py.

`docker_host` makes sure an engine answers (it may install and start one) and sets $DOCKER_HOST for
the session; `docker_client` is a client of it, with the demo images built; `cleanup_containers`
removes, before and after the test, every container labelled reconciler.test=1 or reconciler.managed=true.
RECONCILE_SKIP_DOCKER=1 skips the docker tests (a machine where no engine can be had).

`moto_server` (session) runs moto's server on a free local port; `aws` sets AWS_ENDPOINT_URL and fake
credentials in this process's environment for the test and gives a server emptied before the test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import docker
import pytest

from tests.support.docker_engine import CLEANUP_FILTERS, ensure_engine, ensure_images
from tests.support.fault_proxy import FaultProxy, running_fault_proxy
from tests.support.moto_server import MotoServer, running_moto_server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("RECONCILE_SKIP_DOCKER") == "1":
        skip = pytest.mark.skip(reason="RECONCILE_SKIP_DOCKER=1")
        for item in items:
            if item.get_closest_marker("docker"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    """The test engine, emptied of what reconcile and the tests made: a run killed half-way leaves
    managed containers that any later state on the implicit host would plan to delete."""
    host = ensure_engine()
    with contextlib.closing(docker.DockerClient(base_url=host, timeout=60)) as client:
        _remove_test_and_managed_containers(client)
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    yield host
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous


@pytest.fixture(scope="session")
def docker_client(docker_host: str) -> Iterator[docker.DockerClient]:
    ensure_images()
    client = docker.DockerClient(base_url=docker_host, timeout=60)
    yield client
    client.close()


def _remove_test_and_managed_containers(client: docker.DockerClient) -> None:
    """The test's and reconcile's containers, then reconcile's networks and volumes (once nothing uses them)."""
    for label in CLEANUP_FILTERS:
        for container in client.containers.list(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
    for label in CLEANUP_FILTERS:
        for network in client.networks.list(filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                network.remove()
        for volume in client.volumes.list(filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                volume.remove()


@pytest.fixture
def cleanup_containers(docker_client: docker.DockerClient) -> Iterator[None]:
    """A clean slate before the test (the demo's containers, say, would be orphans to its state;
    a state's default network, left by another test, would be planned as a delete) and nothing left
    after it."""
    _remove_test_and_managed_containers(docker_client)
    yield
    _remove_test_and_managed_containers(docker_client)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with running_moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def fault_proxy_server(moto_server: MotoServer) -> Iterator[FaultProxy]:
    """The fault proxy (tests/support/fault_proxy.py) in front of the session's moto server."""
    with running_fault_proxy(moto_server.url) as proxy:
        yield proxy


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """An empty emulator, and this process's AWS environment pointing at it (and nowhere else)."""
    moto_server.reset()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_server.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return moto_server
