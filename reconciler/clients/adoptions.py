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


class AdoptionLedger:
    def __init__(self, record: Record) -> None:
        self.record_ = record

    def _adopted(self, document: Any | None) -> dict[str, str]:
        """Nothing adopted yet when there is no record; a damaged one is an error (read as empty, an
        adopted container would silently turn "not managed by reconcile")."""
        if document is None:
            return {}
        adopted = document.get("adopted")
        if not isinstance(adopted, dict) or not all(isinstance(address, str) for address in adopted.values()):
            raise self.record_.damaged('no "adopted" object of host/container id → address')
        return {str(key): address for key, address in adopted.items()}

    def address_of(self, host: str, container_id: str) -> str | None:
        """The address the container was adopted as, if it was."""
        return self._adopted(self.record_.document()).get(_key(host, container_id))

    def record(self, host: str, container_id: str, address: str) -> None:
        def adopt(document: Any | None) -> dict[str, Any]:
            return {"version": 1, "adopted": {**self._adopted(document), _key(host, container_id): address}}

        self.record_.update(adopt)
