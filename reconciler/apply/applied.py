"""The git commit of the state that was last applied in full, a record of the state's backend
(DIR/.reconcile.applied, git-ignored, or an object in S3 with settings.backend). `reconcile watch
--apply` heals drift only while the state directory is at that commit and clean: an unmerged
change is never applied by the watcher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconciler.clients.records import Record
from reconciler.plan.schema import GitInfo

RECORD = "applied"


@dataclass(frozen=True)
class Applied:
    commit: str
    at: str  # ISO 8601


def record_applied(record: Record, git: GitInfo | None, when: datetime) -> None:
    """Remember the commit just applied; a state outside git or with uncommitted changes is no
    commit, so nothing is recorded and the previous record stands."""
    if git is None or git.dirty:
        return
    document = {"version": 1, "commit": git.commit, "at": when.isoformat(timespec="seconds")}
    record.update(lambda _previous: document)


def last_applied(record: Record) -> Applied | None:
    document = record.document()
    if document is None:
        return None
    if not isinstance(document.get("commit"), str):
        raise record.damaged('no "commit"')
    return Applied(document["commit"], str(document.get("at", "")))


def refusal(record: Record, git: GitInfo | None, no_commit: str) -> str | None:
    """Why the watcher must not apply the state as it is now, or None when it may. ``no_commit``:
    why there is no commit, when ``git`` is None (gitinfo.no_commit_reason)."""
    if git is None:
        return f"{no_commit}, so an unmerged change cannot be told apart"
    if git.dirty:
        return f"the state directory has uncommitted changes (at {git.commit[:12]}); only a merged commit is applied"
    applied = last_applied(record)
    if applied is None:
        return "no apply is recorded for this state yet; `reconcile apply` (on merge) records the commit watch may heal"
    if applied.commit != git.commit:
        return (
            f"commit {git.commit[:12]} is not the one last applied ({applied.commit[:12]}); "
            "an unmerged change is never applied by watch: apply it with `reconcile apply`"
        )
    return None
