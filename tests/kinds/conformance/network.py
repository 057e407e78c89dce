"""User-defined networks, made as another state, a legacy reconcile or a person would."""

from __future__ import annotations

import docker

from tests.kinds.conformance import Owner, stamp


class Networks:
    section = "networks"

    def declare(self, name: str, host: str) -> str:
        return f"{{host: {host}}}"

    def make(self, client: docker.APIClient, name: str, owner: Owner, host: str) -> None:
        labels = stamp(f"network.{name}", host)
        if owner == "legacy":
            del labels["reconciler.state"]
        client.create_network(name, driver="bridge", labels=labels if owner != "unmanaged" else {"reconciler.test": "1"})

    def listing(self, client: docker.APIClient, prefix: str) -> list[str]:
        return sorted(
            f"{n['Id']} {sorted((n.get('Labels') or {}).items())}" for n in client.networks() if n["Name"].startswith(prefix)
        )


FACTORY = Networks()
