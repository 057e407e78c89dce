"""Named volumes, made as another state, a legacy reconcile or a person would."""

from __future__ import annotations

from tests.kinds.conformance import Docker, Owner, stamp


class Volumes(Docker):
    section = "volumes"

    def declare(self, name: str, place: str) -> str:
        return f"{{host: {place}}}"

    def make(self, name: str, owner: Owner) -> None:
        labels = {**stamp(f"volume.{name}", "local"), "reconciler.test": "1"}
        if owner == "legacy":
            del labels["reconciler.state"]
        self.client.create_volume(name, labels=labels if owner != "unmanaged" else {"reconciler.test": "1"})

    def listing(self, prefix: str) -> list[str]:
        volumes = self.client.volumes().get("Volumes") or []
        return sorted(f"{v['Name']} {sorted((v.get('Labels') or {}).items())}" for v in volumes if v["Name"].startswith(prefix))


FACTORY = Volumes
