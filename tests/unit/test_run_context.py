"""RunContext.client: one connection per key, and connections to different hosts made at once (a
50-host plan must not wait for 50 handshakes one after another)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from reconciler.kinds.base import RunContext
from reconciler.model.spec import State


def context() -> RunContext:
    return RunContext(state=State(), state_dir=Path("."), now=datetime.now(UTC))


def test_clients_of_different_hosts_are_made_at_once() -> None:
    ctx = context()
    both_connecting = threading.Barrier(2, timeout=5)  # broken (an error) if the second connect waits for the first

    def connect() -> object:
        both_connecting.wait()
        return object()

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda key: ctx.client(key, connect), ["docker:a", "docker:b"])
    assert first is not second


def test_one_host_gets_one_client_however_many_ask_at_once() -> None:
    ctx = context()
    made: list[object] = []

    def connect() -> object:
        made.append(object())
        return made[-1]

    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: ctx.client("docker:a", connect), range(32)))
    assert len(made) == 1 and all(client is made[0] for client in clients)
