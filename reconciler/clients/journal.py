"""The apply journal, a record of the state's backend: before a step that creates anything
(create, replace) starts, its intent is written; once it succeeds, the intent is removed. What a
killed apply began is therefore still written down when the next plan looks: a kind reads the
intents to tell what that apply left (a bucket it created but did not tag yet) from what someone
else made, and the plan shows finishing or undoing it as a recovery."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.clients.records import Record

RECORD = "journal"


@dataclass(frozen=True)
class Intent:
    address: str
    action: str  # create | replace
    at: datetime  # when the step started (this machine's clock)
    by: str  # host and pid of the apply

    def shown(self) -> str:
        return f"{self.action} begun at {self.at:%Y-%m-%d %H:%M:%S} UTC by {self.by}"


def _intent(address: str, entry: Any) -> Intent | None:
    """The intent an entry holds; None if it is not one (the journal is damaged)."""
    if not isinstance(entry, dict):
        return None
    try:
        at = datetime.fromisoformat(str(entry["at"]))
    except (KeyError, ValueError):
        return None
    if at.tzinfo is None or entry.get("action") not in ("create", "replace"):
        return None
    return Intent(address, str(entry["action"]), at, str(entry.get("by", "")))


class Journal:
    def __init__(self, record: Record) -> None:
        self.record = record

    def _intents(self, document: Any | None) -> dict[str, dict[str, Any]]:
        """The journal's entries; a journal that does not hold what reconcile writes is an error
        (read as empty, it would forget what a killed apply began)."""
        if document is None:
            return {}
        intents = document.get("intents")
        if not isinstance(intents, dict):
            raise self.record.damaged('no "intents" object')
        for address, entry in intents.items():
            if _intent(str(address), entry) is None:
                raise self.record.damaged(f"the intent for {address} has no action create/replace and time with a zone")
        return {str(address): entry for address, entry in intents.items()}

    def intents(self) -> dict[str, Intent]:
        """The intents of steps that began and never succeeded, by address."""
        found = {address: _intent(address, entry) for address, entry in self._intents(self.record.document()).items()}
        return {address: intent for address, intent in found.items() if intent is not None}

    def begin(self, address: str, action: str, when: datetime) -> None:
        entry = {"action": action, "at": when.isoformat(), "by": f"{socket.gethostname()} pid {os.getpid()}"}
        self.record.update(lambda document: {"version": 1, "intents": {**self._intents(document), address: entry}})

    def end(self, addresses: Iterable[str]) -> None:
        """Forget these intents (their steps succeeded, or there is nothing left to recover)."""
        gone = set(addresses)
        if not gone & set(self._intents(self.record.document())):
            return
        self.record.update(
            lambda document: {"version": 1, "intents": {a: e for a, e in self._intents(document).items() if a not in gone}}
        )
