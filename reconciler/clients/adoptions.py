"""Containers reconcile adopted: ones that existed before it, unmanaged, and matched their
declaration when an apply took them over (`reconcile import`, then apply).

The engine cannot hold this for us: labels cannot change on a live container, and recreating it to
add them would replace what the team asked to keep. So it is a record of the state's backend (the
file DIR/.reconcile.adopted.json, git-ignored like the lock, or an object in S3 with settings.backend),
written only under the state's lock, keyed by host and container id: a container that is removed and
recreated by someone else under the same name is not adopted by its name alone.
"""

from __future__ import annotations

from typing import Any

from reconciler.clients.records import Record

RECORD = "adopted"


def _key(host: str, container_id: str) -> str:
    return f"{host}/{container_id}"


def _adopted(document: Any | None) -> dict[str, str]:
    adopted = document.get("adopted") if isinstance(document, dict) else None
    if not isinstance(adopted, dict):  # none yet, or damaged: nothing is adopted, and a plan says so
        return {}
    return {str(key): str(address) for key, address in adopted.items()}


class AdoptionLedger:
    def __init__(self, record: Record) -> None:
        self.record_ = record

    def address_of(self, host: str, container_id: str) -> str | None:
        """The address the container was adopted as, if it was."""
        return _adopted(self.record_.document()).get(_key(host, container_id))

    def record(self, host: str, container_id: str, address: str) -> None:
        def adopt(document: Any | None) -> dict[str, Any]:
            return {"version": 1, "adopted": {**_adopted(document), _key(host, container_id): address}}

        self.record_.update(adopt)
