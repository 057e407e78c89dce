"""Containers, made (not started) as another state, a legacy reconcile or a person would."""

from __future__ import annotations

from tests.kinds.conformance import Docker, Owner, stamp
from tests.support.docker_engine import TEST_IMAGE


class Containers(Docker):
    section = "containers"
    kind = "container"  # the address the stamp names: kind.NAME

    def declare(self, name: str, place: str) -> str:
        return f"{{image: {TEST_IMAGE}, host: {place}, command: [sleep, '300'], network_mode: none, stop_grace_period: 1s}}"

    def make(self, name: str, owner: Owner) -> None:
        labels = {**stamp(f"{self.kind}.{name}", "local"), "reconciler.test": "1"}
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


FACTORY = Containers
