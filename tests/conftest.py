"""Fixtures for the tests that need a Docker engine (marked `docker`); see tests/support/docker_engine.py.

`docker_host` makes sure an engine answers (it may install and start one) and sets $DOCKER_HOST for
the session; `docker_client` is a client of it, with the demo images built; `cleanup_containers`
removes, before and after the test, every container labelled reconciler.test=1 or reconciler.managed=true.
RECONCILE_SKIP_DOCKER=1 skips the docker tests (a machine where no engine can be had).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import docker
import pytest

from tests.support.docker_engine import CLEANUP_FILTERS, ensure_engine, ensure_images


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("RECONCILE_SKIP_DOCKER") == "1":
        skip = pytest.mark.skip(reason="RECONCILE_SKIP_DOCKER=1")
        for item in items:
            if item.get_closest_marker("docker"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    host = ensure_engine()
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
    for label in CLEANUP_FILTERS:
        for container in client.containers.list(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


@pytest.fixture
def cleanup_containers(docker_client: docker.DockerClient) -> Iterator[None]:
    """A clean slate before the test (the demo's containers, say, would be orphans to its state)
    and nothing left after it."""
    _remove_test_and_managed_containers(docker_client)
    yield
    _remove_test_and_managed_containers(docker_client)
