"""Fixtures for the several-hosts tests: a real sshd forwarding to the shared test engine, and a
second engine that listens on 127.0.0.1 with TLS (tests/support/sshd.py, tests/support/tls_engine.py);
both started once per session and stopped at its end."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import pytest

from tests.support.sshd import Sshd, running_sshd
from tests.support.tls_engine import TlsEngine, running_tls_engine


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, docker_host: str) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("sshd"), docker_host) as server:
        yield server


@pytest.fixture(scope="session")
def tls_engine(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[TlsEngine]:
    with running_tls_engine(tmp_path_factory.mktemp("tls"), docker_client) as engine:
        yield engine


@pytest.fixture
def tls_client(tls_engine: TlsEngine) -> Iterator[docker.DockerClient]:
    """A client of the TLS engine (over its unix socket), with its managed containers removed
    before and after the test."""
    client = docker.DockerClient(base_url=tls_engine.socket, timeout=60)

    def clean() -> None:
        for container in client.containers.list(all=True, filters={"label": "reconciler.managed=true"}):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)

    clean()
    yield client
    clean()
    client.close()
