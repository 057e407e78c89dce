"""The restarts reconcile made because a container was unhealthy, kept where the next run finds them.

The engine cannot hold this for us: a manual restart does not count in RestartCount, labels cannot
change, and its event buffer (256 events) is filled by healthcheck execs within minutes. So the
ledger is a record of the state's backend (DIR/.reconcile.restarts.json, git-ignored like the lock,
or an object in S3 with settings.backend), written only under the state's lock, keyed by host and
container id: a replaced container starts with a clean budget, a restarted one keeps its history.
Entries older than the window are dropped on every write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reconciler.clients.records import Record

RECORD = "restarts"
WINDOW = timedelta(hours=1)


def _key(host: str, container_id: str) -> str:
    return f"{host}/{container_id}"


class RestartLedger:
    def __init__(self, record: Record) -> None:
        self.record_ = record

    def _restarts(self, document: Any | None) -> dict[str, list[str]]:
        if document is None:
            return {}
        restarts = document.get("restarts")
        if not isinstance(restarts, dict) or not all(isinstance(times, list) for times in restarts.values()):
            raise self.record_.damaged('no "restarts" object of host/container id → times')
        return {str(k): [str(t) for t in v] for k, v in restarts.items()}

    def recent(self, host: str, container_id: str, now: datetime) -> tuple[datetime, ...]:
        """This container's restarts by reconcile within the window before ``now``, oldest first."""
        times = self._restarts(self.record_.document()).get(_key(host, container_id), [])
        return tuple(sorted(moment for moment in map(_parse, times) if moment is not None and now - moment < WINDOW))

    def record(self, host: str, container_id: str, when: datetime) -> None:
        def add(document: Any | None) -> dict[str, Any]:
            restarts = self._restarts(document)
            times = restarts.setdefault(_key(host, container_id), [])
            if when.isoformat() not in times:  # a write whose answer was lost is re-applied: one restart, once
                times.append(when.isoformat())
            kept = {
                key: fresh
                for key, times in restarts.items()
                if (fresh := [t for t in times if (moment := _parse(t)) is not None and when - moment < WINDOW])
            }
            return {"version": 1, "restarts": kept}

        self.record_.update(add)


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
