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


def _intents(document: Any | None) -> dict[str, dict[str, Any]]:
    intents = document.get("intents") if isinstance(document, dict) else None
    if not isinstance(intents, dict):
        return {}
    return {str(address): entry for address, entry in intents.items() if isinstance(entry, dict)}


def _intent(address: str, entry: dict[str, Any]) -> Intent | None:
    try:
        at = datetime.fromisoformat(str(entry["at"]))
    except (KeyError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    return Intent(address, str(entry.get("action", "")), at, str(entry.get("by", "")))


class Journal:
    def __init__(self, record: Record) -> None:
        self.record = record

    def intents(self) -> dict[str, Intent]:
        """The intents of steps that began and never succeeded, by address."""
        found = {address: _intent(address, entry) for address, entry in _intents(self.record.document()).items()}
        return {address: intent for address, intent in found.items() if intent is not None}

    def begin(self, address: str, action: str, when: datetime) -> None:
        entry = {"action": action, "at": when.isoformat(), "by": f"{socket.gethostname()} pid {os.getpid()}"}
        self.record.update(lambda document: {"version": 1, "intents": {**_intents(document), address: entry}})

    def end(self, addresses: Iterable[str]) -> None:
        """Forget these intents (their steps succeeded, or there is nothing left to recover)."""
        gone = set(addresses)
        if not gone & set(_intents(self.record.document())):
            return
        self.record.update(
            lambda document: {"version": 1, "intents": {a: e for a, e in _intents(document).items() if a not in gone}}
        )
