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


def _restarts(document: Any | None) -> dict[str, list[str]]:
    restarts = document.get("restarts") if isinstance(document, dict) else None
    if not isinstance(restarts, dict):  # none yet, or damaged: the ledger forgets
        return {}
    return {str(k): [str(t) for t in v] for k, v in restarts.items() if isinstance(v, list)}


class RestartLedger:
    def __init__(self, record: Record) -> None:
        self.record_ = record

    def recent(self, host: str, container_id: str, now: datetime) -> tuple[datetime, ...]:
        """This container's restarts by reconcile within the window before ``now``, oldest first."""
        times = _restarts(self.record_.document()).get(_key(host, container_id), [])
        return tuple(sorted(moment for moment in map(_parse, times) if moment is not None and now - moment < WINDOW))

    def record(self, host: str, container_id: str, when: datetime) -> None:
        def add(document: Any | None) -> dict[str, Any]:
            restarts = _restarts(document)
            restarts.setdefault(_key(host, container_id), []).append(when.isoformat())
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
