"""Which state a resource belongs to (settings.name), read from the label or tag apply stamps on
everything it creates. Pure; shared by the kinds that create resources.

- ours: it carries our state name;
- another state's: it carries another name. It is never planned, not even as a delete; a
  declaration of the same name is a blocked create naming that state;
- legacy: it carries reconcile's marker (reconciler.managed / reconciler:address) but no state name,
  because it was made before state names existed. The state that declares it claims it (a tag added
  in place, or, for a container whose labels cannot change, a record); a state that does not
  declare it leaves it alone.
"""

from __future__ import annotations

from typing import Literal

from reconciler.plan.schema import Blocked, Change

STATE_LABEL = "reconciler.state"  # on containers, networks and volumes
MANAGED = "reconciler.managed"  # on every Docker resource reconcile makes
ADDRESS = "reconciler.address"  # its address: "network.front"
HOST = "reconciler.host"  # the name of the host entry that made it: two entries may reach one engine
STATE_TAG = "reconciler:state"  # on S3 buckets and EC2 instances (and their volumes)
ADDRESS_TAG = "reconciler:address"  # their address: "s3_bucket.logs"

Owner = Literal["ours", "another state", "legacy"]


def owner_of(stamped: str | None, ours: str) -> Owner:
    """Whose a resource carrying reconcile's marker is, by the state name stamped on it (None: none)."""
    if stamped is None or stamped == "":
        return "legacy"
    return "ours" if stamped == ours else "another state"


def owned_elsewhere(what: str, other: str, marker: str) -> tuple[list[str], Blocked]:
    """The reasons and the block of a declaration whose name another state's resource holds."""
    return (
        [f"{what} belongs to state {other}"],
        Blocked(
            reason=f"{what} belongs to state {other} ({marker}={other}); a state never changes or deletes "
            "another state's resources",
            remedy=f"give it another name here, or remove it from state {other} (and apply there) before declaring it here",
        ),
    )


def claim_reason(what: str, how: str) -> str:
    """Why a legacy resource this state declares is claimed, and how (``how``: what apply does)."""
    return f"claim: {what} was made by reconcile before state names (it carries none); {how}"


def claim_change(path: str, ours: str) -> Change:
    return Change(path=path, before=None, after=ours)


def docker_stamp(address: str, host: str, state: str) -> dict[str, str]:
    """The labels apply stamps on every Docker resource it makes: whose it is, and as what."""
    return {MANAGED: "true", ADDRESS: address, HOST: host, STATE_LABEL: state}


def aws_stamp(address: str, state: str) -> dict[str, str]:
    """The tags apply stamps on every AWS resource it makes or adopts: whose it is, and as what."""
    return {ADDRESS_TAG: address, STATE_TAG: state}
