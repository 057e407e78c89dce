"""Containers, made (not started) as another state, a legacy reconcile or a person would."""

from __future__ import annotations

import docker

from tests.kinds.conformance import Owner, stamp
from tests.support.docker_engine import TEST_IMAGE


class Containers:
    section = "containers"

    def declare(self, name: str, host: str) -> str:
        return f"{{image: {TEST_IMAGE}, host: {host}, command: [sleep, '300'], network_mode: none, stop_grace_period: 1s}}"

    def make(self, client: docker.APIClient, name: str, owner: Owner, host: str) -> None:
        labels = {**stamp(f"container.{name}", host), "reconciler.test": "1"}
        if owner == "legacy":
            del labels["reconciler.state"]
        if owner == "unmanaged":
            labels = {"reconciler.test": "1"}
        client.create_container(TEST_IMAGE, ["sleep", "300"], name=name, labels=labels)

    def listing(self, client: docker.APIClient, prefix: str) -> list[str]:
        return sorted(
            f"{c['Id']} {c['State']} {sorted((c.get('Labels') or {}).items())}"
            for c in client.containers(all=True)
            if c["Names"][0].lstrip("/").startswith(prefix)
        )


FACTORY = Containers()
