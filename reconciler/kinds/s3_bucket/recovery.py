"""A bucket an apply created and was killed before tagging (pure).

CreateBucket and the tagging that makes a bucket ours are two calls; a kill between them leaves a
bucket without our tag, which would otherwise block every later apply ("exists without the tag …").
The journal holds the create's intent (written before CreateBucket): a bucket of that name, without
any reconciler:address tag, created at or after that intent (S3's creation time, with some slack
for clock skew), is the one that apply made. It is treated as ours: tagged and configured as
declared, or, no longer declared, deleted if empty (the create is undone; a bucket that was never
tagged never recorded protect). The plan shows this as its own reason and change (`recovery`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reconciler.clients.journal import Intent
from reconciler.plan.schema import Action, Change

CLOCK_SLACK = timedelta(minutes=2)
RECOVERY = "recovery"  # the change's path


def created_by(intent: Intent | None, created: datetime | None) -> Intent | None:
    """The intent of the killed create that made this untagged bucket, if the journal holds one."""
    if intent is None or intent.action != "create" or created is None:
        return None
    return intent if created >= intent.at - CLOCK_SLACK else None


def recovered_view(view: dict[str, Any]) -> dict[str, Any]:
    """Never tagged, so protect was never recorded: the create it belonged to may be undone."""
    return {**view, "protect": False}


def with_recovery(action: Action, intent: Intent) -> Action:
    undo = action.action == "delete"
    reason = f"recover: {action.name} was created by an apply killed before it was tagged ({intent.shown()}); " + (
        "it is no longer declared, so the create is undone" if undo else "apply tags and configures it as declared"
    )
    change = Change(path=RECOVERY, before="untagged, created by a killed apply", after="deleted" if undo else "adopted")
    kind = "update" if action.action == "noop" else action.action
    return action.model_copy(update={"action": kind, "reasons": [reason, *action.reasons], "changes": [change, *action.changes]})
