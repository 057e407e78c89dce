"""Named volumes, made as another state, a legacy reconcile or a person would."""

from __future__ import annotations

import docker

from tests.kinds.conformance import Owner, stamp


class Volumes:
    section = "volumes"

    def declare(self, name: str, host: str) -> str:
        return f"{{host: {host}}}"

    def make(self, client: docker.APIClient, name: str, owner: Owner, host: str) -> None:
        labels = {**stamp(f"volume.{name}", host), "reconciler.test": "1"}
        if owner == "legacy":
            del labels["reconciler.state"]
        client.create_volume(name, labels=labels if owner != "unmanaged" else {"reconciler.test": "1"})

    def listing(self, client: docker.APIClient, prefix: str) -> list[str]:
        return sorted(
            f"{v['Name']} {sorted((v.get('Labels') or {}).items())}"
            for v in client.volumes().get("Volumes") or []
            if v["Name"].startswith(prefix)
        )


FACTORY = Volumes()
