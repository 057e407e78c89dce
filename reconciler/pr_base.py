"""What an unpacked pull request is planned against: the base branch's state, whose backend holds
the records this plan may trust. The base is `plan --base DIR`, else the state directory at the same
path under the git top level of the current directory (in CI, the base branch's checkout: where
`apply PLANFILE` will find the state once merged). Records are read from the base's backend only,
and a pull request that names another `settings.backend` is shown as a change of trust (an error
finding): from the merge on, apply would take its lock and read its records (adoptions, the
journal) from a place the pull request chose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.clients.backend import Backend, NoRecords, backend_at
from reconciler.errors import ConfigError, ReconcileError
from reconciler.gitinfo import recorded_state_dir, saved_state_dir
from reconciler.model.load import LoadedState, load_state
from reconciler.plan.schema import Finding
from reconciler.pr_tree import unpacked_root

IN_DIRECTORY = "the state directory (DIR/.reconcile.*)"


@dataclass(frozen=True)
class Base:
    directory: Path | None  # None: no base could be read
    backend: str | None = None
    region: str | None = None
    why_none: str = ""


def base_of(loaded: LoadedState, explicit: Path | None) -> Base | None:
    """The base of a plan of an unpacked pull request (None for any other plan)."""
    if explicit is None and unpacked_root(loaded.directory) is None:
        return None
    directory = explicit or saved_state_dir(recorded_state_dir(loaded.directory))
    if not directory.is_dir() or unpacked_root(directory) is not None:
        return Base(None, why_none=f"no base state at {directory} (plan --base DIR names it)")
    try:
        base = load_state(directory, mode="plan")
    except (ConfigError, ReconcileError) as error:
        return Base(None, why_none=f"the base state at {directory} does not load ({error})")
    return Base(directory, base.state.settings.backend, base.state.aws.region)


def records_of(base: Base) -> Backend:
    """Where the plan of a pull request reads its records: the base's backend, else none at all."""
    if base.directory is None:
        return NoRecords()
    return backend_at(base.backend, base.directory, base.region)


def trust_finding(loaded: LoadedState, base: Base) -> Finding | None:
    """A pull request's settings.backend that is not the base's, or a base that cannot be read."""
    ours = loaded.state.settings.backend
    if base.directory is None:
        return Finding(
            severity="error",
            address="settings.backend",
            code="backend-unknown",
            message=f"this plan read no record (adoptions, the journal): {base.why_none}",
            remedy="plan from a checkout of the base branch, or name its state with --base DIR",
        )
    if ours == base.backend:
        return None
    return Finding(
        severity="error",
        address="settings.backend",
        code="backend-changed",
        message=(
            f"a change of trust: settings.backend changes from {base.backend or IN_DIRECTORY} to {ours or IN_DIRECTORY}; "
            "once merged, apply takes its lock and reads and writes its records (adoptions, restarts, the journal) "
            f"there. This plan read them from {base.backend or IN_DIRECTORY}"
        ),
        remedy="check who can write to the new backend before merging; change it on the base branch, not in a pull request",
    )
