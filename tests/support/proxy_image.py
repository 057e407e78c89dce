"""The managed proxy's image for the tests: scripts/proxy-image run once per engine per session
(Debian's haproxy and socat, imported as a local image); without a Debian mirror to build it from,
why, so that a test skips saying so."""

from __future__ import annotations

import os
import subprocess

from tests.support.docker_engine import REPO

PROXY_IMAGE = "reconciler-proxy/haproxy:2"
UNAVAILABLE = 3  # scripts/proxy-image: Debian's haproxy package cannot be downloaded
_built: dict[str, str | None] = {}  # engine → why the image could not be built (None: built)


def proxy_image(docker_host: str) -> str | None:
    """Build the proxy image on the engine once per session; why it could not be, if so."""
    if docker_host not in _built:
        done = subprocess.run(
            [str(REPO / "scripts" / "proxy-image")], capture_output=True, text=True,
            env={**os.environ, "DOCKER_HOST": docker_host}, timeout=600, check=False,
        )  # fmt: skip
        if done.returncode not in (0, UNAVAILABLE):
            raise AssertionError(f"scripts/proxy-image failed: {done.stderr}{done.stdout}")
        _built[docker_host] = done.stderr.strip() if done.returncode == UNAVAILABLE else None
    return _built[docker_host]
