"""Managed proxies, made as another state, a legacy reconcile or a person would: a container holding
the proxy's name, with (or without) the proxy's labels. Plan only reads them, so they run the test
image; the apply the suite kills makes a real HAProxy one, from scripts/proxy-image (built once on the
test engine; without Debian's haproxy package to build it from, the proxy's cases skip, saying so)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.kinds.conformance import Docker, Owner, stamp
from tests.support.docker_engine import REPO, TEST_IMAGE

PROXY_IMAGE = "reconciler-proxy/haproxy:2"
UNAVAILABLE = 3  # scripts/proxy-image: Debian's haproxy package cannot be downloaded
_built: dict[str, str | None] = {}  # engine → why the image could not be built (None: built)


def proxy_image(docker_host: str) -> str | None:
    """Build the proxy image on the engine once per session; why it could not be, if so."""
    if docker_host not in _built:
        done = subprocess.run(
            [str(REPO / "scripts" / "proxy-image")], capture_output=True, text=True,
            env={**os.environ, "DOCKER_HOST": docker_host}, timeout=600,
        )  # fmt: skip
        if done.returncode not in (0, UNAVAILABLE):
            raise AssertionError(f"scripts/proxy-image failed: {done.stderr}{done.stdout}")
        _built[docker_host] = done.stderr.strip() if done.returncode == UNAVAILABLE else None
    return _built[docker_host]


class Proxies(Docker):
    section = "proxies"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        super().__init__(request)
        unavailable = proxy_image(request.getfixturevalue("docker_host"))
        if unavailable is not None:
            pytest.skip(f"proxy: no proxy image: {unavailable}")

    def declare(self, name: str, place: str) -> str:
        return f"{{host: {place}, image: '{PROXY_IMAGE}'}}"

    def make(self, name: str, owner: Owner) -> None:
        labels = {**stamp(f"proxy.{name}", "local"), "reconciler.test": "1"}
        if owner == "legacy":
            del labels["reconciler.state"]
        if owner == "unmanaged":
            labels = {"reconciler.test": "1"}
        self.client.create_container(TEST_IMAGE, ["sleep", "300"], name=name, labels=labels)

    def listing(self, prefix: str) -> list[str]:
        return sorted(
            f"{c['Id']} {c['State']} {sorted((c.get('Labels') or {}).items())}"
            for c in self.client.containers(all=True)
            if c["Names"][0].lstrip("/").startswith(prefix)
        )


FACTORY = Proxies
