"""Observing a Docker kind on every host at once, the one way the container and network kinds do:
a host that cannot be reached is noted with its cause, so that only its resources are blocked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from reconciler.clients.docker import HOST_UNREACHABLE, DockerUnavailable, shown_url, unreachable
from reconciler.kinds.base import Observation
from reconciler.model.spec import State


def observe_each_host(
    state: State,
    observe_host: Callable[[str], Mapping[str, Observation]],
    unreachable_hosts: dict[str, str],
    *,
    engine_optional: bool,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Observation]:
    """What ``observe_host`` finds on each of the state's hosts, all at once. An unreachable host
    goes into ``unreachable_hosts`` (host → the cause, also said) — unless ``engine_optional``: a
    state that declares nothing on its implicit host needs no engine there, and one that does not
    answer holds nothing of ours."""

    def one(host: str) -> Mapping[str, Observation]:
        try:
            return observe_host(host)
        except HOST_UNREACHABLE as error:
            if engine_optional:
                return {}
            unreachable_hosts[host] = (
                str(error) if isinstance(error, DockerUnavailable)
                else unreachable(host, shown_url(state.hosts[host]), error)
            )  # fmt: skip
            say(unreachable_hosts[host])
            return {}

    observed: dict[str, Observation] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(state.hosts))) as pool:
        for seen in pool.map(one, list(state.hosts)):
            observed.update(seen)
    return observed
