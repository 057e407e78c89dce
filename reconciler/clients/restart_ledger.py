"""The restarts reconcile made because a container was unhealthy, kept where the next run finds them.

The engine cannot hold this for us: a manual restart does not count in RestartCount, labels cannot
change, and its event buffer (256 events) is filled by healthcheck execs within minutes. So the
ledger is a small JSON file beside the state's lock (DIR/.reconcile.restarts.json, git-ignored like
the lock), written only under that lock, keyed by host and container id: a replaced container starts
with a clean budget, a restarted one keeps its history. Entries older than the window are dropped
on every write.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.clients.records import read_record, write_record

LEDGER_NAME = ".reconcile.restarts.json"
WINDOW = timedelta(hours=1)


def _key(host: str, container_id: str) -> str:
    return f"{host}/{container_id}"


class RestartLedger:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LEDGER_NAME
        self._lock = threading.Lock()

    def _read(self) -> dict[str, list[str]]:
        document = read_record(self.path)  # none yet, or damaged: the ledger forgets
        restarts = document.get("restarts") if isinstance(document, dict) else None
        if not isinstance(restarts, dict):
            return {}
        return {str(k): [str(t) for t in v] for k, v in restarts.items() if isinstance(v, list)}

    def recent(self, host: str, container_id: str, now: datetime) -> tuple[datetime, ...]:
        """This container's restarts by reconcile within the window before ``now``, oldest first."""
        with self._lock:
            times = self._read().get(_key(host, container_id), [])
        return tuple(sorted(moment for moment in map(_parse, times) if moment is not None and now - moment < WINDOW))

    def record(self, host: str, container_id: str, when: datetime) -> None:
        with self._lock:
            restarts = self._read()
            restarts.setdefault(_key(host, container_id), []).append(when.isoformat())
            kept = {
                key: fresh
                for key, times in restarts.items()
                if (fresh := [t for t in times if (moment := _parse(t)) is not None and when - moment < WINDOW])
            }
            write_record(self.path, {"version": 1, "restarts": kept})


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
