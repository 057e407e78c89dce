"""What a replace killed mid-way leaves, and how the next apply finishes or undoes it (pure).

A healthy-first replace runs the new container as NAME-reconcile-new (with our labels), waits until
it is healthy, removes the old one, then renames the new one to NAME. Killed at any instant, it
leaves one of:
- the temporary container beside the old one: if it runs healthy with the configuration now
  declared, the replace is finished (the old one removed, the new one takes the name); otherwise it
  is removed and the old one is planned as usual (replaced again if it still differs);
- the temporary container alone (the old one was removed): it takes the name (promoted), and is
  then planned as usual: the old one is never lost and no two containers hold one address.
The plan shows this as its own reason ("recover: …") and change (`recovery`), in text and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reconciler.clients.journal import Intent
from reconciler.plan.schema import Action, Change

REPLACEMENT_SUFFIX = "-reconcile-new"


@dataclass(frozen=True)
class Leftover:
    """A temporary replacement container found by observe."""

    id: str
    name: str  # NAME-reconcile-new
    status: str
    healthy: bool  # running, and healthy if it has a healthcheck
    config_hash: str | None
    alone: bool  # the old container is gone: the observation is of this one


@dataclass(frozen=True)
class Recovery:
    how: Literal["promote", "finish", "remove"]  # rename it; remove the old one and rename it; remove it
    reason: str
    change: Change


def replacement_of(name: str, labels: dict[str, Any], managed: str, address_label: str) -> str | None:
    """The declared name (its address's) a temporary replacement stands in for, if ``name`` is one of ours."""
    address = str(labels.get(address_label, ""))
    if not name.endswith(REPLACEMENT_SUFFIX) or labels.get(managed) != "true" or not address.startswith("container."):
        return None
    return address.removeprefix("container.")


def leftover_of(record: dict[str, Any], config_hash_label: str, alone: bool) -> Leftover:
    state = record.get("State") or {}
    check = (record.get("Config") or {}).get("Healthcheck") or {}
    has_check = bool(check.get("Test")) and check["Test"][0] != "NONE"
    running = state.get("Status") == "running"
    healthy = running and (not has_check or (state.get("Health") or {}).get("Status") == "healthy")
    labels = (record.get("Config") or {}).get("Labels") or {}
    return Leftover(
        id=record["Id"],
        name=record["Name"].lstrip("/"),
        status=state.get("Status", ""),
        healthy=healthy,
        config_hash=labels.get(config_hash_label),
        alone=alone,
    )


def recovery_of(name: str, leftover: Leftover, wanted_hash: str | None, intent: Intent | None) -> Recovery:
    """``wanted_hash``: the config hash of the declaration (None: not declared, or declared absent)."""
    left = f"left by an apply killed mid-replace ({intent.shown()})" if intent else "left by an interrupted replace"
    shown = f"{leftover.name} ({'healthy' if leftover.healthy else leftover.status})"
    if leftover.alone:
        return Recovery(
            "promote",
            f"recover: {leftover.name} was {left} after the old container was removed; it takes the name {name}",
            Change(path="recovery", before=shown, after=f"renamed to {name}"),
        )
    if wanted_hash is not None and leftover.healthy and leftover.config_hash == wanted_hash:
        return Recovery(
            "finish",
            f"recover: {leftover.name}, {left}, is healthy and as declared: the replace is finished "
            f"(the old container is removed, it takes the name {name})",
            Change(path="recovery", before=shown, after=f"replaces {name}"),
        )
    return Recovery(
        "remove",
        f"recover: {leftover.name} was {left}; it is removed, the old container is kept",
        Change(path="recovery", before=shown, after="removed"),
    )


def with_recovery(action: Action, recovery: Recovery) -> Action:
    """The action a recovery adds to: it shows first; a noop becomes an update (something is done),
    and finishing a replace is a replace."""
    if action.blocked is not None:
        return action
    kind = action.action
    if recovery.how == "finish":
        kind = "replace"
    elif kind == "noop":
        kind = "update"
    return action.model_copy(
        update={"action": kind, "reasons": [recovery.reason, *action.reasons], "changes": [recovery.change, *action.changes]}
    )
