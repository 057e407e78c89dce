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
call) only costs time; `reuse_connections` turns it off for them (tcp:// engines keep it).

An endpoint is a Docker engine when ``/_ping`` answers ``200 OK`` with an ``Api-Version`` header;
anything else is `NotAnEngine`, told by its status alone: a URL in a pull request must not make
reconcile a proxy that reflects some other service's answer into the plan.

A call's timeout is a wall-clock deadline on its whole answer (`answered_within`): the SDK's own
timeout bounds each read, so a server that trickles a header line every few seconds would
otherwise hold a plan forever."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

import docker
import requests

from reconciler.clients.call_threads import CallThreads

_CALL_THREADS = CallThreads("host-call")  # where each call runs while its caller waits out the deadline
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


class NotAnEngine(requests.exceptions.ConnectionError):
    """The endpoint answered, but not as a Docker engine; what it said is not repeated."""


class DeadlineExceeded(requests.exceptions.Timeout):
    """No whole answer within the call's time."""


def negotiated_version(client: docker.APIClient) -> str:
    """The engine's API version, from the ``Api-Version`` header of its ``/_ping`` answer, once the
    answer shows a Docker engine (see the module's docstring)."""
    response = client.get(f"{client.base_url}/_ping", timeout=client.timeout, stream=True)  # the connect timeout
    with response:
        version = response.headers.get("Api-Version")
        if response.status_code == 200 and version and response.raw.read(8, decode_content=True).strip() == b"OK":
            return str(version)
    header = "" if version else " without an Api-Version header"
    raise NotAnEngine(f"not a Docker engine: GET /_ping answered HTTP {response.status_code}{header} (its body is not shown)")


def _seconds(timeout: object) -> float | None:
    if isinstance(timeout, (int, float)):
        return float(timeout)
    if isinstance(timeout, tuple) and all(isinstance(part, (int, float)) for part in timeout):
        return float(sum(timeout))
    return None  # no timeout asked (the SDK's wait without one): none imposed


T = TypeVar("T")


def within_deadline(seconds: float, call: Callable[[], T]) -> T:
    """``call()``, given at most ``seconds`` of wall-clock time. Past it, DeadlineExceeded with the
    time waited; the call is left to its thread (call_threads.py), which is free again when the
    peer closes or a read times out."""
    outcome: list[T | BaseException] = []
    done = threading.Event()
    started = time.monotonic()
    _CALL_THREADS.start(call, outcome, done)
    if not done.wait(seconds):
        waited = time.monotonic() - started
        raise DeadlineExceeded(f"no whole answer within {seconds:g} s (waited {waited:.1f} s)")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def answered_within(
    send: Callable[..., requests.Response], request: requests.PreparedRequest, **kwargs: Any
) -> requests.Response:
    """``send(request, **kwargs)``, its ``timeout`` a wall-clock deadline on the answer (its headers,
    and its body unless streamed)."""
    seconds = _seconds(kwargs.get("timeout"))
    if seconds is None:
        return send(request, **kwargs)
    return within_deadline(seconds, lambda: send(request, **kwargs))
