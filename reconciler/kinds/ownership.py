"""Ownership, decided once for every kind: whose each observed resource is (a typed snapshot entry)
and what that means for the plan, before a kind compares anything.

The ladder, for one address:

- its host or region could not be observed → blocked, naming the cause (only that kind's
  resources there);
- absent → create (a declared resource), else nothing;
- another state's → never planned, not even as a delete; a declaration of its name is a blocked
  create naming the owner;
- declared external (made outside reconcile) → must exist, never planned;
- unmanaged → adopted when the kind says it may be, else a blocked create; left alone if undeclared;
- legacy (made before state names) → claimed with whatever the kind's comparison plans; left alone
  if undeclared;
- ours but no longer declared → delete.

A kind supplies only what is its own, as methods of an ``OwnedKind`` subclass: where a resource
lives, the frame of its actions, its comparison (pure), how it adopts or claims, and the
wording that names it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from reconciler.kinds.base import Observation, StepResult
from reconciler.kinds.identity import claim_reason, owned_elsewhere
from reconciler.plan.digest import ABSENT
from reconciler.plan.schema import Action, ActionKind, Blocked, Change, Finding

UNOBSERVED = "unobserved"  # the observed digest of an address whose host or region could not be read

Owner = Literal["ours", "legacy", "another state", "unmanaged"]


@dataclass(frozen=True)
class Held:
    """The snapshot entry of one observed resource: whose it is. ``state``: the other state's name."""

    owner: Owner
    state: str = ""


OURS = Held("ours")
LEGACY = Held("legacy")
UNMANAGED = Held("unmanaged")


def another_state(name: str) -> Held:
    return Held("another state", name)


def held_by_label(owner: Literal["ours", "another state", "legacy"] | None, stamped_state: str | None) -> Held:
    """Whose a resource is, from identity.owner_of of its marker (None: it carries no marker)."""
    if owner is None:
        return UNMANAGED
    return another_state(stamped_state or "") if owner == "another state" else Held(owner)


SpecT = TypeVar("SpecT")
SeenT = TypeVar("SeenT")


def with_action(
    frame: Action, kind: ActionKind, reasons: list[str], changes: list[Change], blocked: Blocked | None = None
) -> Action:
    return frame.model_copy(update={"action": kind, "reasons": reasons, "changes": changes, "blocked": blocked})


def unreachable_action(frame: Action, place: str, error: str, remedy: str) -> Action:
    """An address whose host or region (``place``: "host edge", "region eu-west-1") could not be
    read: nothing planned, blocked with the cause."""
    return frame.model_copy(
        update={
            "action": "noop",
            "reasons": [f"{place} could not be observed"],
            "observed_digest": UNOBSERVED,
            "known_at_apply": [],
            "blocked": Blocked(reason=error, remedy=remedy),
        }
    )


def region_remedy(region: str) -> str:
    """What to do about an AWS region observe could not read."""
    return (
        f"make region {region} readable (the AWS credentials, the network or endpoint, and that the account may use "
        "the region); nothing in it is planned until then"
    )


class OwnedKind(Generic[SpecT, SeenT]):
    """The ownership ladder as a kind's ``diff``; a subclass fills in the hooks below."""

    kind: ClassVar[str]
    marker: ClassVar[str]  # where the state name is stamped, as the plan names it: "label reconciler.state"
    place_word: ClassVar[str] = "host"  # what its resources live in, as a blocked action names one: hosts, AWS regions
    unreachable: dict[str, str]  # host or region → why observe could not read it
    unread: dict[str, tuple[str, str]]  # name → (why, remedy): its place was read, the resource itself was not

    # --- what every kind says ----------------------------------------------------------------

    def held(self, seen: SeenT) -> Held:
        raise NotImplementedError

    def where(self, desired: SpecT | None, seen: SeenT | None) -> str | None:
        """The host the resource lives on (None: the kind has no hosts): the declared one, else
        the one it was seen on."""
        host = getattr(desired, "host", None) if desired is not None else getattr(seen, "host", None)
        return str(host) if host is not None else None

    def observed_in(self, desired: SpecT | None, seen: SeenT | None) -> str | None:
        """The host or region observe reads the resource in (keys ``unreachable``): its host by default."""
        return self.where(desired, seen)

    def frame(self, name: str, desired: SpecT | None, observed: Observation | None) -> Action:
        """A noop action for the address: its type, digest, host (and, a kind's own, its dependencies)."""
        host = self.where(desired, observed.data if observed is not None else None)
        digest = observed.digest if observed is not None else ABSENT
        return Action(address=f"{self.kind}.{name}", type=self.kind, action="noop", observed_digest=digest, host=host)

    def create(self, name: str, desired: SpecT, frame: Action) -> Action:
        raise NotImplementedError

    def compare(self, name: str, desired: SpecT, seen: SeenT, frame: Action) -> Action:
        """Pure: what makes an existing resource (ours, or legacy being claimed) match its declaration."""
        raise NotImplementedError

    # --- what a kind may say differently ---------------------------------------------------

    def external(self, desired: SpecT) -> bool:
        """Made outside reconcile (``external: true``): it must exist; it is never planned."""
        return bool(getattr(desired, "external", False))

    def wanted(self, desired: SpecT) -> bool:
        """Whether the declaration wants the resource to exist (False: state: absent, expired…)."""
        return True

    def not_created(self, desired: SpecT) -> list[str]:
        """Why a declared resource that is not wanted and does not exist is not created."""
        return []

    def what(self, name: str, seen: SeenT) -> str:
        """The resource as a block names it: "network front"."""
        return f"{self.kind} {name}"

    def place(self, seen: SeenT) -> str:
        """Where the resource is, as an unmanaged block says it: "host default"."""
        return f"host {self.where(None, seen)}"

    def unreachable_remedy(self, where: str) -> str:
        return (
            f"make host {where} reachable (check the engine, the network, its SSH or TLS settings); "
            "nothing on it is planned until then"
        )

    def left_alone(self, name: str, seen: SeenT, held: Held) -> list[str]:
        """Why an undeclared resource that is not ours is not planned."""
        return []

    def unmanaged(self, name: str, desired: SpecT, seen: SeenT, frame: Action) -> Action:
        """A declared name that an unmanaged resource holds: adopted, or a blocked create (default)."""
        where = self.where(None, seen)
        return with_action(
            frame,
            "create",
            [f"a {self.kind} named {name} already exists on {where} and is not managed by reconcile"],
            [],
            Blocked(
                reason=f"{self.kind} {name} exists on {self.place(seen)} and is not managed by reconcile",
                remedy=self.unmanaged_remedy(name, seen),
            ),
        )

    def unmanaged_remedy(self, name: str, seen: SeenT) -> str:
        return "remove or rename it"

    def delete(self, name: str, seen: SeenT, frame: Action) -> Action:
        """Ours, no longer declared."""
        return with_action(frame, "delete", ["no longer declared"], [])

    def claim(self, planned: Action, name: str, seen: SeenT) -> Action:
        """A legacy resource this state declares, claimed along with ``planned`` (default: the reason only)."""
        reason = claim_reason(self.what(name, seen), self.claim_how(planned))
        return planned.model_copy(update={"reasons": [*planned.reasons, reason]})

    def claim_how(self, planned: Action) -> str:
        return "apply stamps our state name on it"

    def settle(self, planned: Action, desired: SpecT | None, seen: SeenT) -> Action:
        """The last word on an existing resource's action before a claim (e.g. a killed apply's leftovers)."""
        return planned

    # --- optional, with their defaults ------------------------------------------------------

    def findings(self, name: str, desired: SpecT | None, observed: Observation | None) -> list[Finding]:
        return []

    def verify(self) -> Mapping[str, StepResult]:
        return {}

    # --- the ladder ----------------------------------------------------------------------------

    def diff(self, name: str, desired: SpecT | None, observed: Observation | None) -> Action:
        return decide(self, name, desired, observed)


def compares(kind: OwnedKind[Any, Any], name: str, desired: Any | None, seen: Any | None) -> bool:
    """Whether ``decide`` asks the kind to compare ``seen`` with ``desired``: a declared resource
    (not external) that is ours or legacy, read, in a place that was read. A kind's observe gathers
    what its compare needs for these only."""
    if desired is None or seen is None or kind.external(desired) or name in kind.unread:
        return False
    place = kind.observed_in(desired, seen)
    return (place is None or place not in kind.unreachable) and kind.held(seen).owner in ("ours", "legacy")


def decide(kind: OwnedKind[Any, Any], name: str, desired: Any | None, observed: Observation | None) -> Action:
    """The one action for ``kind``'s address ``name``. Pure."""
    seen = observed.data if observed is not None else None
    frame = kind.frame(name, desired, observed)
    where = kind.where(desired, seen)
    place = kind.observed_in(desired, seen)  # the declared one first: a move to a place that cannot be read waits too
    if place is not None and place in kind.unreachable:
        return unreachable_action(frame, f"{kind.place_word} {place}", kind.unreachable[place], kind.unreachable_remedy(place))
    if name in kind.unread:
        return unreachable_action(frame, f"{kind.kind}.{name}", *kind.unread[name])
    if seen is None:
        if desired is None:
            return frame
        if kind.external(desired):
            return with_action(
                frame, "noop", ["external: made outside reconcile"], [],
                Blocked(reason=f"external {kind.kind} {name} does not exist on host {where}",
                        remedy=f"create it (docker {kind.kind} create {name}) or declare it without external: true"),
            )  # fmt: skip
        if not kind.wanted(desired):
            return with_action(frame, "noop", kind.not_created(desired), [])
        return kind.create(name, desired, frame)
    if desired is not None and kind.external(desired):
        return frame
    held = kind.held(seen)
    declared = desired is not None and kind.wanted(desired)
    if held.owner == "another state":
        if not declared:
            return with_action(frame, "noop", kind.left_alone(name, seen, held), [])
        reasons, blocked = owned_elsewhere(kind.what(name, seen), held.state, kind.marker)
        return kind.settle(with_action(frame, "create", reasons, [], blocked), desired, seen)
    if held.owner == "unmanaged":
        if not declared:
            return kind.settle(with_action(frame, "noop", kind.left_alone(name, seen, held), []), desired, seen)
        return kind.settle(kind.unmanaged(name, desired, seen, frame), desired, seen)
    if desired is None:
        if held.owner == "legacy":  # made before state names, and this state does not declare it
            return kind.settle(with_action(frame, "noop", kind.left_alone(name, seen, held), []), desired, seen)
        return kind.settle(kind.delete(name, seen, frame), desired, seen)
    planned = kind.settle(kind.compare(name, desired, seen, frame), desired, seen)
    if held.owner == "legacy" and planned.action != "delete":
        return kind.claim(planned, name, seen)
    return planned
