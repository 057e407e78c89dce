"""EC2 instances as the pure diff sees them: what observe read of one instance, what its vCPU quota
looks like, and the action and findings that follow. No I/O here; tests build these as literals."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from reconciler.kinds.base import Observation
from reconciler.kinds.identity import ADDRESS_TAG, STATE_TAG, claim_change, claim_reason
from reconciler.kinds.ownership import LEGACY, OURS, UNMANAGED, Held, OwnedKind, another_state, decide, region_remedy, with_action
from reconciler.model.spec import DEFAULT_STATE_NAME, Ec2Instance
from reconciler.plan.schema import Action, ActionKind, Blocked, Change, Finding, created_fields

MARKET_TAG = "reconciler:market"
FALLBACK_TAG = "reconciler:fallback"
PROTECT_TAG = "reconciler:protect"
SPOT_CAPACITY = "spot-capacity"
RUNNING = ("pending", "running")
STOPPED = ("stopping", "stopped")
LIVE_STATES = (*RUNNING, *STOPPED)  # shutting-down and terminated instances no longer count


@dataclass(frozen=True)
class SeenInstance:
    """One managed instance as observed. ``market`` is the market that really runs: our fallback
    tag's, else AWS's InstanceLifecycle."""

    instance_id: str
    region: str
    instance_type: str
    state: str  # the EC2 state name
    market: str  # "spot" | "on-demand"
    ami: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # the user's tags (ours and aws:* left out)
    protected: bool = False  # launched or last applied with protect: true
    fallback: str | None = None  # "spot-capacity": launched On-Demand because Spot was refused
    spot_request_id: str | None = None
    duplicates: tuple[str, ...] = ()  # other live instances carrying the same address tag (or other twins)
    unmanaged: bool = False  # a twin: no reconciler:address tag, found by its Name tag or id
    claimed_by: tuple[str, ...] = ()  # a twin: other declared names it could be as well
    state_name: str | None = None  # the state it was made by (our reconciler:state tag); None: none, or a twin
    other_state: str | None = None  # made by another state: never ours to change
    legacy: bool = False  # made by reconcile before state names (our address tag, no state tag)


def user_tags(tags: Iterable[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags if not t["Key"].startswith(("reconciler:", "aws:"))}


def seen_instance(
    record: dict[str, Any], region: str, duplicates: tuple[str, ...] = (), claimed_by: tuple[str, ...] | None = None
) -> SeenInstance:
    """One describe_instances record → SeenInstance."""
    tags = {t["Key"]: t["Value"] for t in record.get("Tags") or []}
    lifecycle = "spot" if record.get("InstanceLifecycle") == "spot" else "on-demand"
    return SeenInstance(
        instance_id=record["InstanceId"],
        region=region,
        instance_type=record["InstanceType"],
        state=record["State"]["Name"],
        market=tags[MARKET_TAG] if tags.get(MARKET_TAG) in ("spot", "on-demand") else lifecycle,
        ami=record.get("ImageId", ""),
        tags=user_tags(record.get("Tags") or []),
        protected=tags.get(PROTECT_TAG) == "true",
        fallback=tags.get(FALLBACK_TAG),
        spot_request_id=record.get("SpotInstanceRequestId"),
        duplicates=duplicates,
        unmanaged=claimed_by is not None,
        claimed_by=claimed_by or (),
        state_name=tags.get(STATE_TAG) or None,
    )


def tag_name(value: str) -> str:
    """A Name tag made a valid declaration name ('' when nothing is left), as import names it."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-._")


def twins_by_name(names: Iterable[str], records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Which live instances without our address tag each declared name could be, by import's
    naming: the Name tag made a valid name, else the instance id, with -2, -3… for a repeated name.
    A match by Name or id wins over a match by a repeat suffix. Pure."""
    untagged = [r for r in records if not any(t["Key"] == ADDRESS_TAG for t in r.get("Tags") or [])]

    def named(record: dict[str, Any]) -> tuple[str, str]:
        raw = next((t["Value"] for t in record.get("Tags") or [] if t["Key"] == "Name"), "")
        return raw, tag_name(raw)

    found: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        exact = [r for r in untagged if r["InstanceId"] == name or name in named(r)]
        if not exact and (repeat := re.fullmatch(r"(.+)-([2-9]|[1-9][0-9]+)", name)):
            exact = [r for r in untagged if named(r)[1] == repeat[1]]
        if exact:
            found[name] = sorted(exact, key=lambda r: (str(r.get("LaunchTime", "")), r["InstanceId"]))
    return found


def desired_tags(name: str, spec: Ec2Instance) -> dict[str, str]:
    """The user's tags as they should read on the instance (a Name, unless they give one)."""
    return {"Name": name, **{str(k): str(v) for k, v in spec.tags.items()}}


@dataclass(frozen=True)
class Demand:
    """New running capacity an action asks for: an instance of ``instance_type`` in ``market``,
    freeing one of ``freed_type`` (an instance type change on a running instance)."""

    region: str
    instance_type: str
    market: str
    freed_type: str | None = None


def vcpu_demand(desired: Ec2Instance | None, seen: SeenInstance | None, now: datetime) -> Demand | None:
    """What a launch, start or type change adds to the vCPUs running; None when nothing is added."""
    if desired is None or desired.state != "running" or is_expired(desired, now):
        return None
    if seen is not None and (seen.unmanaged or seen.other_state):  # adopted as it runs, or blocked: nothing is launched
        return None
    assert desired.region is not None
    if seen is None or seen.region != desired.region or (seen.ami and seen.ami != desired.ami):
        return Demand(desired.region, desired.instance_type, desired.market)
    if not _running(seen.state):
        return Demand(desired.region, desired.instance_type, seen.market)
    if seen.instance_type != desired.instance_type:
        return Demand(desired.region, desired.instance_type, seen.market, freed_type=seen.instance_type)
    return None


def is_expired(spec: Ec2Instance, now: datetime) -> bool:
    return spec.expires_at is not None and spec.expires_at <= now


def _running(state: str) -> bool:
    return state in RUNNING


# --- quota -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaFacts:
    """One vCPU quota in one region: its value (None: could not be read, and why) and the vCPUs
    running against it now."""

    region: str
    code: str
    title: str
    value: int | None
    in_use: int
    unknown: str = ""


@dataclass(frozen=True)
class QuotaNeed:
    """What a launch or start asks of its quota: ``vcpus`` new ones (None: unknown), after
    ``ahead`` vCPUs that launches earlier in the same plan ask of the same quota."""

    facts: QuotaFacts | None
    vcpus: int | None
    ahead: int = 0
    unknown: str = ""

    @property
    def total(self) -> int:
        assert self.facts is not None and self.vcpus is not None
        return self.facts.in_use + self.ahead + self.vcpus

    @property
    def unknown_reason(self) -> str:
        if self.unknown:
            return self.unknown
        if self.facts is None:
            return "no vCPU quota is known for this instance family"
        if self.facts.value is None:
            return f"{self.facts.code} ({self.facts.title}) in {self.facts.region}: {self.facts.unknown}"
        return ""

    @property
    def short(self) -> bool:
        if self.unknown_reason or self.facts is None or self.facts.value is None:
            return False
        return self.total > self.facts.value

    def numbers(self) -> str:
        """ "needs 32 vCPUs, 8 of 8 in use, quota 8" """
        assert self.facts is not None and self.facts.value is not None
        ahead = f", {self.ahead} more for earlier launches in this plan" if self.ahead else ""
        return f"needs {self.vcpus} vCPUs, {self.facts.in_use} of {self.facts.value} in use{ahead}, quota {self.facts.value}"


def console_link(region: str, code: str) -> str:
    return f"https://{region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/{code}"


def quota_blocked(need: QuotaNeed) -> Blocked:
    assert need.facts is not None
    facts = need.facts
    return Blocked(
        reason=f"not enough vCPU quota: {need.numbers()} ({facts.code}, {facts.title}, {facts.region})",
        remedy=(
            f"`reconcile apply --request-quota` asks for {need.total} (add `--wait-for-quota 2h` to launch once granted), "
            f"or request it in the console: {console_link(facts.region, facts.code)}"
        ),
    )


# --- the action ------------------------------------------------------------------------------


def _protect_block(what: str) -> Blocked:
    return Blocked(
        reason=f"protect: true: reconcile never stops or terminates this instance, and {what}",
        remedy="set protect: false and apply first, if this is really meant",
    )


def plan_action(
    name: str,
    desired: Ec2Instance | None,
    seen: SeenInstance | None,
    digest: str,
    now: datetime,
    quota: QuotaNeed | None = None,
    may_request_quota: bool = False,
    state: str = DEFAULT_STATE_NAME,
    unreachable: Mapping[str, str] | None = None,
) -> Action:
    """The one action for ``ec2_instance.NAME``. Pure. Another state's instance is never changed (a
    declaration of its name is blocked); a legacy one (made before state names) is claimed with the
    action: our state tag added in place."""
    observed = Observation(digest, seen) if seen is not None else None
    return decide(InstanceRules(now, quota, may_request_quota, state, dict(unreachable or {})), name, desired, observed)


@dataclass
class InstanceRules(OwnedKind[Ec2Instance, SeenInstance]):
    """An instance's own words for the ownership ladder (kinds/ownership.py), and its comparison."""

    kind: ClassVar[str] = "ec2_instance"
    marker: ClassVar[str] = f"tag {STATE_TAG}"
    place_word: ClassVar[str] = "region"
    now: datetime
    quota: QuotaNeed | None
    may_request_quota: bool
    state: str
    unreachable: dict[str, str] = field(default_factory=dict)  # region → why its instances could not be listed
    unread: dict[str, tuple[str, str]] = field(default_factory=dict)  # read with its region's listing: always empty

    def observed_in(self, desired: Ec2Instance | None, seen: SeenInstance | None) -> str | None:
        return desired.region if desired is not None else seen.region if seen is not None else None

    def unreachable_remedy(self, where: str) -> str:
        return region_remedy(where)

    def held(self, seen: SeenInstance) -> Held:
        if seen.unmanaged:
            return UNMANAGED
        if seen.other_state is not None:
            return another_state(seen.other_state)
        return LEGACY if seen.legacy else OURS

    def wanted(self, desired: Ec2Instance) -> bool:
        return desired.state != "absent" and not is_expired(desired, self.now)

    def not_created(self, desired: Ec2Instance) -> list[str]:
        return [f"expired at {_moment(desired.expires_at)}; not launched"] if desired.state != "absent" else []

    def what(self, name: str, seen: SeenInstance) -> str:
        return f"instance {seen.instance_id} (ec2_instance.{name})"

    def left_alone(self, name: str, seen: SeenInstance, held: Held) -> list[str]:
        if held.owner == "unmanaged":
            return [f"{seen.instance_id} is not managed by reconcile; left alone"]
        if held.owner == "legacy":
            return [f"{seen.instance_id} was made before state names, and this state does not declare it"]
        return [f"{seen.instance_id} belongs to state {held.state}; left alone"]

    def unmanaged(self, name: str, desired: Ec2Instance, seen: SeenInstance, frame: Action) -> Action:
        return _adopt_or_block(name, desired, seen, frame, self.state)

    def claim(self, planned: Action, name: str, seen: SeenInstance) -> Action:
        what = f"instance {seen.instance_id}"
        if planned.action == "replace":
            how = f"its replacement carries {STATE_TAG}={self.state}"
            return planned.model_copy(update={"reasons": [*planned.reasons, claim_reason(what, how)]})
        return planned.model_copy(
            update={
                "action": "update",
                "reasons": [*planned.reasons, claim_reason(what, f"apply tags it {STATE_TAG}={self.state} in place")],
                "changes": [*planned.changes, claim_change(f"tags.{STATE_TAG}", self.state)],
            }
        )

    def _act(
        self, frame: Action, kind: ActionKind, reasons: list[str], changes: list[Change], blocked: Blocked | None = None
    ) -> Action:
        return with_action(frame, kind, reasons, changes, blocked)

    def _quota_gate(self, reasons: list[str]) -> Blocked | None:
        quota = self.quota
        if quota is None or not quota.short:
            return None
        if self.may_request_quota:
            reasons.append(f"vCPU quota: {quota.numbers()}: apply requests {quota.total} first")
            return None
        return quota_blocked(quota)

    def create(self, name: str, desired: Ec2Instance, frame: Action) -> Action:
        shown = desired.model_dump(mode="json", exclude_defaults=True, exclude={"hours"})
        shown.setdefault("state", desired.state)
        shown.setdefault("market", desired.market)
        reasons: list[str] = []
        blocked = self._quota_gate(reasons)
        return self._act(frame, "create", reasons, created_fields(shown), blocked)

    def delete(self, name: str, seen: SeenInstance, frame: Action) -> Action:
        return self._terminate("no longer declared", seen.protected, seen, frame)

    def _terminate(self, why: str, protect: bool, seen: SeenInstance, frame: Action) -> Action:
        changes = [Change(path="state", before=seen.state, after="terminated")]
        return self._act(frame, "delete", [why], changes, _protect_block(f"{why} would terminate it") if protect else None)

    def compare(self, name: str, desired: Ec2Instance, seen: SeenInstance, frame: Action) -> Action:
        protect = desired.protect
        if desired.state == "absent":
            return self._terminate("state: absent", protect, seen, frame)
        if is_expired(desired, self.now):
            return self._terminate(f"expired at {_moment(desired.expires_at)}", protect, seen, frame)

        replace_reasons = []
        if seen.region != desired.region:
            replace_reasons.append(f"region changed ({seen.region} → {desired.region})")
        if seen.ami and seen.ami != desired.ami:
            replace_reasons.append("ami changed")
        if replace_reasons:
            changes = [Change(path="ami", before=seen.ami, after=desired.ami)] if seen.ami != desired.ami else []
            if seen.region != desired.region:
                changes.append(Change(path="region", before=seen.region, after=desired.region))
            blocked = _protect_block("a replacement would terminate it") if protect else self._quota_gate(replace_reasons)
            return self._act(frame, "replace", replace_reasons, changes, blocked)

        changes = []
        reasons = []
        stops = False
        if seen.instance_type != desired.instance_type:
            changes.append(Change(path="instance_type", before=seen.instance_type, after=desired.instance_type))
            if _running(seen.state):
                stops = True
                reasons.append("instance_type changed (stop → modify → start)")
            else:
                reasons.append("instance_type changed")
        if desired.state == "running" and not _running(seen.state):
            changes.append(Change(path="state", before=seen.state, after="running"))
            reasons.append("start")
        elif desired.state == "stopped" and _running(seen.state):
            changes.append(Change(path="state", before=seen.state, after="stopped"))
            reasons.append("stop")
            stops = True
        wanted_tags = desired_tags(name, desired)
        if seen.tags != wanted_tags:
            changes.append(Change(path="tags", before=seen.tags, after=wanted_tags))
            reasons.append("tags changed")
        if seen.protected != desired.protect:
            changes.append(Change(path="protect", before=seen.protected, after=desired.protect))
            reasons.append("protect changed")
        market_note = market_reason(desired, seen)
        if not changes:
            return self._act(frame, "noop", [market_note] if market_note else [], [])
        if stops and protect:
            return self._act(frame, "update", reasons, changes, _protect_block(f"{'; '.join(reasons)} would stop it"))
        return self._act(frame, "update", reasons, changes, self._quota_gate(reasons))


def twin_differences(desired: Ec2Instance, seen: SeenInstance) -> list[tuple[str, str, str]]:
    """(field, is, declared) for each way an unmanaged twin differs from its declaration."""
    declared_state = "running" if desired.state == "running" else "stopped"
    is_state = "running" if _running(seen.state) else "stopped"
    pairs = [
        ("region", seen.region, desired.region or ""),
        ("instance_type", seen.instance_type, desired.instance_type),
        ("ami", seen.ami, desired.ami),
        ("market", seen.market, desired.market),
        ("state", is_state, declared_state),
    ]
    return [(field_, is_, declared) for field_, is_, declared in pairs if is_ != declared]


def _adopt_or_block(name: str, desired: Ec2Instance, seen: SeenInstance, frame: Action, state: str) -> Action:
    """A declared instance not found by our tag, with a live twin (same Name tag or id, no
    reconciler:address tag): adopted when exactly one twin matches region, type, AMI, market and
    state; otherwise a blocked create, since launching would make a second instance."""
    address = f"ec2_instance.{name}"
    remedy = (
        "declare the instance as it is (remove this declaration and run `reconcile import --aws` to print it), "
        f"or adopt it as it is by tagging it: aws ec2 create-tags --resources ID --tags Key={ADDRESS_TAG},Value={address} "
        "(the next plan then changes it to match), or give the declaration another name if it is really a new instance"
    )
    if seen.duplicates or seen.claimed_by:
        ids = ", ".join((seen.instance_id, *seen.duplicates))
        also = f"; it could also be {', '.join(f'ec2_instance.{n}' for n in seen.claimed_by)}" if seen.claimed_by else ""
        count = len(seen.duplicates) + 1
        return with_action(
            frame,
            "create",
            [f"{count} unmanaged instance(s) could be this declaration: {ids}{also}"],
            [],
            Blocked(
                reason=f"live instances without the tag {ADDRESS_TAG}={address} carry its name: {ids}{also}; "
                "reconcile adopts only one unambiguous twin, and does not launch another instance",
                remedy=remedy,
            ),
        )
    differs = twin_differences(desired, seen)
    if differs:
        fields = ", ".join(f"{field_} (is {is_!r}, declared {declared!r})" for field_, is_, declared in differs)
        return with_action(
            frame,
            "create",
            [f"unmanaged instance {seen.instance_id} carries this name and differs from its declaration"],
            [],
            Blocked(
                reason=f"instance {seen.instance_id} in {seen.region} has no tag {ADDRESS_TAG}={address} and differs "
                f"from its declaration: {fields}; reconcile adopts only an instance that matches, "
                "and does not launch a second one",
                remedy=remedy.replace("ID", seen.instance_id),
            ),
        )
    changes = [Change(path=f"tags.{ADDRESS_TAG}", before=None, after=address), claim_change(f"tags.{STATE_TAG}", state)]
    if desired.protect:
        changes.append(Change(path=f"tags.{PROTECT_TAG}", before=None, after="true"))
    wanted_tags = desired_tags(name, desired)
    if seen.tags != wanted_tags:
        changes.append(Change(path="tags", before=seen.tags, after=wanted_tags))
    return with_action(
        frame, "update", [f"adopt: unmanaged instance {seen.instance_id} matches its declaration; apply adds our tags"], changes
    )


def market_reason(desired: Ec2Instance, seen: SeenInstance) -> str:
    """Why the market that runs differs from the declared one ('' when they agree)."""
    if seen.market == desired.market:
        return ""
    if seen.fallback == SPOT_CAPACITY:
        return "runs On-Demand: Spot capacity was refused at launch (spot_fallback: on-demand)"
    return f"runs {seen.market}, declared {desired.market}: the market of an existing instance is not changed in place"


def _moment(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


# --- findings --------------------------------------------------------------------------------


def _warning(address: str, code: str, message: str, remedy: str | None = None) -> Finding:
    return Finding(severity="warning", address=address, code=code, message=message, remedy=remedy)


def instance_findings(
    name: str, desired: Ec2Instance | None, seen: SeenInstance | None, quota: QuotaNeed | None
) -> list[Finding]:
    """Quota unknown for a launch or start; a market that differs without our fallback (the
    fallback itself is the cost finding `spot-fallback`); duplicates of one address."""
    address = f"ec2_instance.{name}"
    found = []
    if quota is not None and quota.unknown_reason:
        message = f"the vCPU quota could not be checked before this launch ({quota.unknown_reason}); it goes ahead unchecked"
        found.append(_warning(address, "quota-unknown", message))
    if seen is not None and (seen.unmanaged or seen.other_state):  # a twin, another state's: the action says all
        seen = None
    if desired is not None and seen is not None and seen.market != desired.market and seen.fallback != SPOT_CAPACITY:
        message = (
            f"declared market {desired.market}, but {seen.instance_id} runs {seen.market}; "
            "reconcile does not change the market of an existing instance"
        )
        found.append(
            _warning(address, "market-differs", message, "to switch, set state: absent and apply, then declare it again")
        )
    if seen is not None and seen.duplicates:
        message = (
            f"{len(seen.duplicates)} more live instance(s) carry this address: {', '.join(seen.duplicates)}; "
            f"reconcile manages {seen.instance_id}"
        )
        found.append(
            _warning(address, "duplicate-instance", message, "terminate the extra ones, or remove their reconciler:address tag")
        )
    return found
