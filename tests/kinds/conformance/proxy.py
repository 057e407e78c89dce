"""Managed proxies, made as another state, a legacy reconcile or a person would: a container holding
the proxy's name, with (or without) the proxy's labels. Plan only reads them, so they run the test
image; the apply the suite kills makes a real HAProxy one, from scripts/proxy-image (built once on the
test engine; without Debian's haproxy package to build it from, the proxy's cases skip, saying so)."""

from __future__ import annotations

import pytest

from tests.kinds.conformance.container import Containers
from tests.support.proxy_image import PROXY_IMAGE, proxy_image


class Proxies(Containers):
    """Containers holding a proxy's name: made and listed as the container factory makes them."""

    section = "proxies"
    kind = "proxy"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        super().__init__(request)
        unavailable = proxy_image(request.getfixturevalue("docker_host"))
        if unavailable is not None:
            pytest.skip(f"proxy: no proxy image: {unavailable}")

    def declare(self, name: str, place: str) -> str:
        return f"{{host: {place}, image: '{PROXY_IMAGE}'}}"


FACTORY = Proxies
