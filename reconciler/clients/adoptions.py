"""Containers reconcile adopted: ones that existed before it, unmanaged, and matched their
declaration when an apply took them over (`reconcile import`, then apply).

The engine cannot hold this for us: labels cannot change on a live container, and recreating it to
add them would replace what the team asked to keep. So the record is a small JSON file beside the
state's lock (DIR/.reconcile.adopted.json, git-ignored like the lock), written only under that lock,
keyed by host and container id: a container that is removed and recreated by someone else under the
same name is not adopted by its name alone.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reconciler.clients.records import read_record, write_record

LEDGER_NAME = ".reconcile.adopted.json"


def _key(host: str, container_id: str) -> str:
    return f"{host}/{container_id}"


class AdoptionLedger:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LEDGER_NAME
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        document = read_record(self.path)  # none yet, or damaged: nothing is adopted, and a plan says so
        adopted = document.get("adopted") if isinstance(document, dict) else None
        if not isinstance(adopted, dict):
            return {}
        return {str(key): str(address) for key, address in adopted.items()}

    def address_of(self, host: str, container_id: str) -> str | None:
        """The address the container was adopted as, if it was."""
        with self._lock:
            return self._read().get(_key(host, container_id))

    def record(self, host: str, container_id: str, address: str) -> None:
        with self._lock:
            adopted = self._read()
            adopted[_key(host, container_id)] = address
            write_record(self.path, {"version": 1, "adopted": adopted})
