"""Which of the containers an apply started the engine lists as running now: one list call per
engine (its ids as the filter, LIST_IDS at a time) where the end-of-walk check (ContainerKind.verify)
inspected every container. A container under `restart: no` that is listed as running has not
exited and cannot have been restarted, which is all that check asks of it; any other (listed
otherwise, not listed, under a restart policy, or when the list call fails) is inspected as before."""

from __future__ import annotations

from collections.abc import Iterable

import docker

from reconciler.clients.docker import CONNECTION_ERRORS, APIError

LIST_IDS = 100  # ids in one list call's filter (~7 kB of query string)
NOT_LISTED: tuple[type[BaseException], ...] = (APIError, *CONNECTION_ERRORS)


def running_now(client: docker.APIClient, container_ids: Iterable[str]) -> set[str]:
    """The ids, of ``container_ids``, the engine lists as running; empty if it could not list them."""
    wanted = sorted(set(container_ids))
    running: set[str] = set()
    for first in range(0, len(wanted), LIST_IDS):
        try:
            listed = client.containers(all=True, filters={"id": wanted[first : first + LIST_IDS]})
        except NOT_LISTED:
            return set()
        running.update(summary["Id"] for summary in listed if summary.get("State") == "running")
    return running.intersection(wanted)
