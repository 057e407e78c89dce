"""What a connection to an engine costs, made small: the API version asked with ``/_ping``, and
connections reused on the docker SDK's unix:// and ssh:// transports. No decisions are made here.

The SDK's ``version="auto"`` asks ``/version``, whose answer makes the engine run ``runc --version``
and ``docker-init --version``: ~8 ms of the host's CPU and two processes on it, for every connection.
The engine states its API version in a header of every answer, ``/_ping``'s too (~0.2 ms), which is
how the docker CLI negotiates; `negotiated_version` reads it there (``/version`` only for an engine
too old to send it).

The SDK's Unix and SSH adapters keep their urllib3 pools in a map keyed by the request's whole URL,
path included (``…/containers/ID/json``), so every inspect of another container made a new pool
and a new connection (a new socket; over SSH a new channel running ``docker system dial-stdio`` on
the host), and past 25 URLs closed an old one. `reuse_connections` keys them all alike: one pool
per host, its connections kept open for the next call.

Requests on those transports never go through a proxy, so asking the environment for proxy and
CA settings before each of them (requests' ``trust_env``: a scan of the whole environment per
call) only costs time; `reuse_connections` turns it off for them (tcp:// engines keep it)."""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import Any

import docker
import requests
from docker.errors import create_api_error_from_http_exception

LOCAL_BASE = "http+docker://"  # the SDK's base URL for unix:// (http+docker://localhost) and ssh:// engines


class OnePool:
    """Stands in for an adapter's map of pools by URL (the part of it the adapters use: ``lock``,
    ``get``, item access, ``clear``): one pool, whatever URL asks for it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pool: Any = None

    def get(self, url: str, default: Any = None) -> Any:
        return default if self.pool is None else self.pool

    def __getitem__(self, url: str) -> Any:
        if self.pool is None:
            raise KeyError(url)
        return self.pool

    def __setitem__(self, url: str, pool: Any) -> None:
        with self.lock:
            previous, self.pool = self.pool, pool
        if previous is not None and previous is not pool:
            previous.close()

    def __len__(self) -> int:
        return 0 if self.pool is None else 1

    def clear(self) -> None:
        with self.lock:
            previous, self.pool = self.pool, None
        if previous is not None:
            previous.close()


def reuse_connections(session: requests.Session, base_url: str) -> None:
    """One kept connection pool per adapter of ``session`` (a docker APIClient) that keys its pools
    by URL, and no environment lookups per request when ``base_url`` is a unix socket or SSH."""
    for adapter in session.adapters.values():
        pools = getattr(adapter, "pools", None)
        if isinstance(pools, MutableMapping):
            pools.clear()  # closes what was opened so far
            adapter.pools = OnePool()  # type: ignore[attr-defined]
    if base_url.startswith(LOCAL_BASE):
        session.trust_env = False


def negotiated_version(client: docker.APIClient) -> str:
    """The engine's API version, from the ``Api-Version`` header of its ``/_ping`` answer."""
    response = client.get(f"{client.base_url}/_ping", timeout=client.timeout)  # the connect timeout, as the SDK's calls
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as error:
        raise create_api_error_from_http_exception(error) from None  # as the SDK's own calls raise it
    version = response.headers.get("Api-Version")
    if version:
        return str(version)
    return str(client.version(api_version=False)["ApiVersion"])
