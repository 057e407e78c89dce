"""Fixtures of the AWS tests (the moto server itself: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.clients.aws import connect
from tests.support.fault_proxy import FaultProxy
from tests.support.moto_server import MotoServer


@pytest.fixture
def state_s3(aws: MotoServer) -> Any:
    """An S3 client of the moto server, with the bucket a state's backend or lock lives in made."""
    client = connect("s3", "us-east-1")
    client.create_bucket(Bucket="ops-state")
    return client


@pytest.fixture
def faults(aws: MotoServer, fault_proxy_server: FaultProxy) -> Iterator[FaultProxy]:
    """The fault proxy in front of this test's moto server, with no fault armed; a reconcile run
    reaches AWS through it with env={"AWS_ENDPOINT_URL": faults.url}."""
    fault_proxy_server.clear()
    yield fault_proxy_server
    fault_proxy_server.clear()
