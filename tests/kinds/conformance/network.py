"""User-defined networks, made as another state, a legacy reconcile or a person would."""

from __future__ import annotations

from tests.kinds.conformance import Docker, Owner, stamp


class Networks(Docker):
    section = "networks"

    def declare(self, name: str, place: str) -> str:
        return f"{{host: {place}}}"

    def make(self, name: str, owner: Owner) -> None:
        labels = {**stamp(f"network.{name}", "local"), "reconciler.test": "1"}
        if owner == "legacy":
            del labels["reconciler.state"]
        self.client.create_network(name, driver="bridge", labels=labels if owner != "unmanaged" else {"reconciler.test": "1"})

    def listing(self, prefix: str) -> list[str]:
        networks = self.client.networks()
        return sorted(f"{n['Id']} {sorted((n.get('Labels') or {}).items())}" for n in networks if n["Name"].startswith(prefix))


FACTORY = Networks
