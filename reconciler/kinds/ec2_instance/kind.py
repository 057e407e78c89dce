"""EC2 instances (SPEC §1.4): observe by our address tag in every region the state uses, check the
vCPU quota before a launch or start, launch Spot with an On-Demand fallback, and stop, modify,
start and terminate as the diff says. `protect: true` instances are never stopped or terminated."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from reconciler.clients import quotas
from reconciler.clients.aws import AwsUnavailable, BotoCoreError, ClientError, connect, error_code, explain
from reconciler.errors import ReconcileError
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.ec2_instance.view import (
    FALLBACK_TAG,
    LIVE_STATES,
    MARKET_TAG,
    PROTECT_TAG,
    RUNNING,
    SPOT_CAPACITY,
    Demand,
    QuotaFacts,
    QuotaNeed,
    SeenInstance,
    desired_tags,
    instance_findings,
    is_expired,
    plan_action,
    seen_instance,
    twins_by_name,
    vcpu_demand,
)
from reconciler.kinds.identity import ADDRESS_TAG, STATE_TAG, aws_stamp, owner_of
from reconciler.model.spec import Ec2Instance
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Finding

SPOT_REFUSALS = frozenset(
    {
        "InsufficientInstanceCapacity",
        "InsufficientCapacity",
        "SpotMaxPriceTooLow",
        "MaxSpotInstanceCountExceeded",
        "SpotCapacityNotAvailable",
        "InsufficientSpotCapacity",
        "UnfulfillableCapacity",
    }
)
DEFAULT_ROOT_DEVICE = "/dev/xvda"
STATE_WAIT_SECONDS = 600


@dataclass(frozen=True)
class Running:
    """A live instance counted against a quota (any instance, managed or not)."""

    instance_type: str
    market: str


class Journal:
    """What one step has done so far, so that a failure says what was done before it."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def __call__(self, what: str) -> None:
        self.done.append(what)

    def failed(self, error: str) -> str:
        return f"{'; '.join(self.done)}; then failed: {error}" if self.done else error

    def summary(self) -> str:
        return "; ".join(self.done) or "nothing to do"


def _address(name: str) -> str:
    return f"ec2_instance.{name}"


def observation(seen: SeenInstance) -> Observation:
    material = {
        "id": seen.instance_id, "state": seen.state, "type": seen.instance_type, "market": seen.market,
        "ami": seen.ami, "tags": seen.tags, "protected": seen.protected,
    }  # fmt: skip
    return Observation(digest_json(material), seen)


def client_token(address: str, spec: Ec2Instance, market: str, salt: str = "") -> str:
    """The same launch of the same spec gets the same token, so AWS makes one instance of a
    retried or concurrent run_instances (moto ignores tokens: the state lock keeps applies apart)."""
    material = f"{address}|{digest_json(spec.model_dump(mode='json'))}|{market}|{salt}"
    return hashlib.sha256(material.encode()).hexdigest()[:64]


class Ec2InstanceKind:
    kind: ClassVar[str] = "ec2_instance"
    section: ClassVar[str] = "ec2_instances"
    poll_seconds: ClassVar[float] = 2.0  # instance state while waiting for it
    quota_poll_seconds: ClassVar[float] = 30.0  # a quota increase request while --wait-for-quota

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.quota_needs: dict[str, QuotaNeed] = {}
        self.unreachable: dict[str, str] = {}  # region → why its instances could not be listed: they are blocked

    # --- connections ------------------------------------------------------------------------

    def ec2(self, region: str) -> Any:
        return self.ctx.client(f"ec2:{region}", lambda: connect("ec2", region, self.ctx.parallelism + 2))

    def service_quotas(self, region: str) -> Any:
        return self.ctx.client(f"{quotas.SERVICE}:{region}", lambda: connect(quotas.SERVICE, region))

    # --- observe ----------------------------------------------------------------------------

    def _regions(self, desired: Mapping[str, Ec2Instance]) -> list[str]:
        """The regions the state uses; none at all (no AWS call) for a state without AWS."""
        regions = {spec.region for spec in desired.values()} | {self.ctx.state.aws.region}
        return sorted(region for region in regions if region)

    def observe(self, desired: Mapping[str, Ec2Instance]) -> Mapping[str, Observation]:
        regions = self._regions(desired)
        if not regions:
            return {}
        with ThreadPoolExecutor(max_workers=min(len(regions), self.ctx.parallelism)) as pool:
            per_region = list(pool.map(lambda region: self._observe_readable(region, desired), regions))
        observed: dict[str, Observation] = {}
        for found in per_region:
            for name, seen in found.items():
                if name not in observed or (name in desired and seen.region == desired[name].region):
                    observed[name] = observation(seen)
        observed.update(self._observe_twins(desired, observed))
        self._check_quotas(desired, {name: o.data for name, o in observed.items()})
        return observed

    def _live_instances(self, region: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        paginator = self.ec2(region).get_paginator("describe_instances")
        state_filter = {"Name": "instance-state-name", "Values": list(LIVE_STATES)}
        records = []
        try:
            for page in paginator.paginate(Filters=[*filters, state_filter]):
                for reservation in page.get("Reservations", []):
                    records.extend(reservation.get("Instances", []))
        except (ClientError, BotoCoreError) as error:
            raise AwsUnavailable(f"cannot list the EC2 instances in {region}: {explain(error)}") from None
        return records

    def _observe_readable(self, region: str, desired: Mapping[str, Ec2Instance]) -> dict[str, SeenInstance]:
        """A region that cannot be listed (no route, no credentials, denied) blocks only its own instances."""
        try:
            return self._observe_region(region, desired)
        except AwsUnavailable as error:
            self.unreachable[region] = str(error)
            return {}

    def _observe_region(self, region: str, desired: Mapping[str, Ec2Instance]) -> dict[str, SeenInstance]:
        """Our instances; another state's or legacy ones (no state tag) only under a declared
        name, to block or claim it: ours first, then a legacy one, then another state's."""
        self.ctx.progress("ec2_instance.*", f"listing managed instances in {region}")
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in self._live_instances(region, [{"Name": "tag-key", "Values": [ADDRESS_TAG]}]):
            address = next((t["Value"] for t in record.get("Tags") or [] if t["Key"] == ADDRESS_TAG), "")
            if address.startswith("ec2_instance."):
                by_name[address.partition(".")[2]].append(record)
        found = {}
        ours = self.ctx.state.settings.name
        for name, records in by_name.items():
            by_owner: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for record in records:
                stamped = next((t["Value"] for t in record.get("Tags") or [] if t["Key"] == STATE_TAG), None)
                by_owner[owner_of(stamped, ours)].append(record)
            owner = next((o for o in ("ours", "legacy", "another state") if by_owner[o]), "")
            if owner != "ours" and name not in desired:
                continue
            chosen = sorted(by_owner[owner], key=lambda r: (str(r.get("LaunchTime", "")), r["InstanceId"]))
            seen = seen_instance(chosen[0], region, tuple(r["InstanceId"] for r in chosen[1:]))
            found[name] = replace(
                seen, legacy=owner == "legacy", other_state=seen.state_name if owner == "another state" else None
            )
        return found

    def _observe_twins(self, desired: Mapping[str, Ec2Instance], observed: Mapping[str, Observation]) -> dict[str, Observation]:
        """Declared instances not found by our tag: one more listing in each of their regions, for
        live instances without our tag that carry the name (import names an instance after its Name
        tag, else its id). Such a twin is adopted or blocks the launch; it is never doubled. A
        converged state makes no call here."""
        missing: dict[str, list[str]] = defaultdict(list)
        for name, spec in sorted(desired.items()):
            unread = spec.region in self.unreachable
            if (
                name not in observed
                and spec.region
                and not unread
                and spec.state != "absent"
                and not is_expired(spec, self.ctx.now)
            ):
                missing[spec.region].append(name)
        if not missing:
            return {}
        with ThreadPoolExecutor(max_workers=min(len(missing), self.ctx.parallelism)) as pool:
            per_region = list(pool.map(self._region_twins, missing.items()))
        return {name: observation(seen) for found in per_region for name, seen in found.items()}

    def _region_twins(self, item: tuple[str, list[str]]) -> dict[str, SeenInstance]:
        region, names = item
        self.ctx.progress("ec2_instance.*", f"looking for unmanaged instances named {', '.join(names)} in {region}")
        twins = twins_by_name(names, self._live_instances(region, []))
        claims: dict[str, set[str]] = defaultdict(set)
        for name, records in twins.items():
            for record in records:
                claims[record["InstanceId"]].add(name)
        found = {}
        for name, records in twins.items():
            others = sorted({other for r in records for other in claims[r["InstanceId"]]} - {name})
            duplicates = tuple(r["InstanceId"] for r in records[1:])
            found[name] = seen_instance(records[0], region, duplicates, claimed_by=tuple(others))
        return found

    # --- quota ------------------------------------------------------------------------------

    def _check_quotas(self, desired: Mapping[str, Ec2Instance], seen: Mapping[str, SeenInstance]) -> None:
        """For every launch, start or type change the plan will hold: its quota, the vCPUs running
        against it, and what launches earlier in this plan (by name) ask of it."""
        demands = {
            name: demand for name in sorted(desired) if (demand := vcpu_demand(desired[name], seen.get(name), self.ctx.now))
        }
        by_region: dict[str, dict[str, Demand]] = defaultdict(dict)
        for name, demand in demands.items():
            if demand.region not in self.unreachable:  # its launches are blocked, not planned
                by_region[demand.region][name] = demand
        if not by_region:
            return
        with ThreadPoolExecutor(max_workers=min(len(by_region), self.ctx.parallelism)) as pool:
            for needs in pool.map(self._region_quota_needs, by_region.items()):
                self.quota_needs.update(needs)

    def _region_quota_needs(self, item: tuple[str, dict[str, Demand]]) -> dict[str, QuotaNeed]:
        region, demands = item
        self.ctx.progress("ec2_instance.*", f"checking the vCPU quota in {region}")
        running = [
            Running(r["InstanceType"], "spot" if r.get("InstanceLifecycle") == "spot" else "on-demand")
            for r in self._live_instances(region, [{"Name": "instance-state-name", "Values": list(RUNNING)}])
        ]
        types = {r.instance_type for r in running} | {d.instance_type for d in demands.values()}
        types |= {d.freed_type for d in demands.values() if d.freed_type}
        vcpus = quotas.vcpus_of(self.ec2(region), types)
        facts: dict[str, QuotaFacts] = {}
        for demand in demands.values():
            quota = quotas.quota_class(demand.instance_type, demand.market)
            if quota is not None and quota.code not in facts:
                facts[quota.code] = self._quota_facts(region, quota, running, vcpus)
        needs: dict[str, QuotaNeed] = {}
        ahead: dict[str, int] = defaultdict(int)
        for name, demand in demands.items():
            quota = quotas.quota_class(demand.instance_type, demand.market)
            new = vcpus.get(demand.instance_type)
            if quota is None or new is None:
                unknown = "" if new is not None else f"the vCPUs of {demand.instance_type} are unknown"
                needs[name] = QuotaNeed(facts[quota.code] if quota else None, new, unknown=unknown)
                continue
            if demand.freed_type and quotas.quota_class(demand.freed_type, demand.market) == quota:
                new -= vcpus.get(demand.freed_type, 0)
            if new <= 0:
                continue
            needs[name] = QuotaNeed(facts[quota.code], new, ahead[quota.code])
            ahead[quota.code] += new
        return needs

    def _quota_facts(self, region: str, quota: quotas.QuotaClass, running: list[Running], vcpus: dict[str, int]) -> QuotaFacts:
        in_use = sum(vcpus.get(r.instance_type, 0) for r in running if quotas.quota_class(r.instance_type, r.market) == quota)
        try:
            value: int | None = quotas.read_quota(self.service_quotas(region), quota.code)
            unknown = ""
        except ReconcileError as error:
            value, unknown = None, str(error)
        return QuotaFacts(region, quota.code, quota.title, value, in_use, unknown)

    # --- diff (pure) ------------------------------------------------------------------------

    @property
    def may_request_quota(self) -> bool:
        return self.ctx.request_quota or self.ctx.wait_for_quota is not None

    def diff(self, name: str, desired: Ec2Instance | None, observed: Observation | None) -> Action:
        seen: SeenInstance | None = observed.data if observed else None
        digest = observed.digest if observed else ""
        return plan_action(
            name, desired, seen, digest, self.ctx.now, self.quota_needs.get(name), self.may_request_quota,
            self.ctx.state.settings.name, self.unreachable,
        )  # fmt: skip

    def findings(self, name: str, desired: Ec2Instance | None, observed: Observation | None) -> list[Finding]:
        seen: SeenInstance | None = observed.data if observed else None
        return instance_findings(name, desired, seen, self.quota_needs.get(name))

    # --- apply ------------------------------------------------------------------------------

    def apply(self, step: Step) -> StepResult:
        action = step.action
        seen: SeenInstance | None = step.observed.data if step.observed else None
        journal = Journal()
        try:
            if action.action == "create":
                assert step.desired is not None
                return self._create(action.name, step.desired, journal)
            if action.action == "delete":
                assert seen is not None
                self._terminate(seen, action.address, journal)
                return StepResult(True, journal.summary())
            if action.action == "update" and seen is not None and seen.unmanaged:
                assert step.desired is not None
                self._adopt(action.name, step.desired, seen, journal)
                return StepResult(True, journal.summary())
            if action.action == "update":
                assert step.desired is not None and seen is not None
                self._update(action, step.desired, seen, journal)
                return StepResult(True, journal.summary())
            if action.action == "replace":
                assert step.desired is not None and seen is not None
                self._terminate(seen, action.address, journal)
                return self._create(action.name, step.desired, journal)
        except (ClientError, BotoCoreError) as error:
            return StepResult(False, journal.failed(explain(error)))
        except ReconcileError as error:
            return StepResult(False, journal.failed(str(error)))
        return StepResult(True, "nothing to do")

    def verify(self) -> dict[str, StepResult]:
        return {}

    def _create(self, name: str, spec: Ec2Instance, journal: Journal) -> StepResult:
        address = _address(name)
        self._secure_quota(name, journal)
        assert spec.region is not None
        ec2 = self.ec2(spec.region)
        message = ""
        if spec.market == "spot":
            try:
                instance = self._launch(ec2, name, spec, "spot")
            except ClientError as error:
                if error_code(error) not in SPOT_REFUSALS:
                    raise
                if spec.spot_fallback != "on-demand":
                    raise ReconcileError(
                        f"Spot capacity was refused ({explain(error)}) and spot_fallback is {spec.spot_fallback or 'fail'}: "
                        "not launched (set spot_fallback: on-demand to launch On-Demand instead)"
                    ) from None
                self.ctx.progress(address, f"Spot refused ({error_code(error)}): launching ON-DEMAND instead")
                instance = self._launch(ec2, name, spec, "on-demand", fallback=True)
                message = (
                    f"; ON-DEMAND, NOT SPOT: Spot capacity was refused ({explain(error)}), so spot_fallback: on-demand "
                    "launched it On-Demand (tagged reconciler:market=on-demand); it bills the On-Demand price"
                )
        else:
            instance = self._launch(ec2, name, spec, "on-demand")
        instance_id = instance["InstanceId"]
        journal(f"launched {instance_id} ({spec.instance_type}{', on-demand' if message else ', ' + spec.market})")
        self._wait_state(ec2, instance_id, "running", address)
        if spec.state == "stopped":
            self._stop(ec2, instance_id, address, journal)
        return StepResult(True, journal.summary() + message)

    def _launch(self, ec2: Any, name: str, spec: Ec2Instance, market: str, fallback: bool = False) -> dict[str, Any]:
        address = _address(name)
        self.ctx.progress(address, f"launching {spec.instance_type} ({market}) in {spec.region}")
        ours = {**aws_stamp(address, self.ctx.state.settings.name), MARKET_TAG: market}
        if fallback:
            ours[FALLBACK_TAG] = SPOT_CAPACITY
        if spec.protect:
            ours[PROTECT_TAG] = "true"
        tags = [{"Key": k, "Value": v} for k, v in {**desired_tags(name, spec), **ours}.items()]
        arguments: dict[str, Any] = {
            "ImageId": spec.ami,
            "InstanceType": spec.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": tags}, {"ResourceType": "volume", "Tags": tags}],
        }
        if market == "spot":
            arguments["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {"SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop"},
            }
        if spec.subnet_id:
            arguments["SubnetId"] = spec.subnet_id
        if spec.security_group_ids:
            arguments["SecurityGroupIds"] = list(spec.security_group_ids)
        if spec.key_name:
            arguments["KeyName"] = spec.key_name
        if spec.iam_instance_profile:
            key = "Arn" if spec.iam_instance_profile.startswith("arn:") else "Name"
            arguments["IamInstanceProfile"] = {key: spec.iam_instance_profile}
        if spec.root_volume_gb:
            device = self._root_device(ec2, spec.ami)
            arguments["BlockDeviceMappings"] = [{"DeviceName": device, "Ebs": {"VolumeSize": spec.root_volume_gb}}]
        if spec.user_data_file:
            arguments["UserData"] = (self.ctx.state_dir / spec.user_data_file).read_text()
        instance: dict[str, Any] = ec2.run_instances(**arguments, ClientToken=client_token(address, spec, market))["Instances"][0]
        if instance["State"]["Name"] not in LIVE_STATES:  # the token's earlier launch, since terminated
            salt = self.ctx.now.isoformat()
            instance = ec2.run_instances(**arguments, ClientToken=client_token(address, spec, market, salt))["Instances"][0]
        return instance

    def _root_device(self, ec2: Any, ami: str) -> str:
        try:
            images = ec2.describe_images(ImageIds=[ami]).get("Images", [])
        except ClientError:
            return DEFAULT_ROOT_DEVICE
        return str(images[0].get("RootDeviceName") or DEFAULT_ROOT_DEVICE) if images else DEFAULT_ROOT_DEVICE

    def _update(self, action: Action, spec: Ec2Instance, seen: SeenInstance, journal: Journal) -> None:
        ec2 = self.ec2(seen.region)
        address = action.address
        paths = {change.path for change in action.changes}
        if "tags" in paths or "protect" in paths:
            self._retag(ec2, action.name, spec, seen)
            journal("updated " + " and ".join(sorted(paths & {"tags", "protect"})))
        if f"tags.{STATE_TAG}" in paths:
            state = self.ctx.state.settings.name
            ec2.create_tags(Resources=[seen.instance_id], Tags=[{"Key": STATE_TAG, "Value": state}])
            journal(f"claimed {seen.instance_id}: tagged {STATE_TAG}={state}")
        running = seen.state in RUNNING
        if "instance_type" in paths:
            if running:
                self._secure_quota(action.name, journal)
                self._stop(ec2, seen.instance_id, address, journal)
            elif seen.state == "stopping":
                self._wait_state(ec2, seen.instance_id, "stopped", address)
            self.ctx.progress(address, f"changing the instance type to {spec.instance_type}")
            ec2.modify_instance_attribute(InstanceId=seen.instance_id, InstanceType={"Value": spec.instance_type})
            journal(f"changed the type {seen.instance_type} → {spec.instance_type}")
            if running and spec.state == "running":
                self._start(ec2, seen.instance_id, address, journal)
                return
        if "state" in paths:
            if spec.state == "running":
                self._secure_quota(action.name, journal)
                self._start(ec2, seen.instance_id, address, journal)
            else:
                self._stop(ec2, seen.instance_id, address, journal)

    def _adopt(self, name: str, spec: Ec2Instance, seen: SeenInstance, journal: Journal) -> None:
        """An unmanaged twin that matches its declaration: our tags (and the declared ones) only."""
        ec2 = self.ec2(seen.region)
        self.ctx.progress(_address(name), f"adopting {seen.instance_id}: adding our tags")
        wanted = desired_tags(name, spec)
        put = {k: v for k, v in wanted.items() if seen.tags.get(k) != v}
        put.update(aws_stamp(_address(name), self.ctx.state.settings.name))
        if spec.protect:
            put[PROTECT_TAG] = "true"
        ec2.create_tags(Resources=[seen.instance_id], Tags=[{"Key": k, "Value": v} for k, v in put.items()])
        drop = [k for k in seen.tags if k not in wanted]
        if drop:
            ec2.delete_tags(Resources=[seen.instance_id], Tags=[{"Key": k} for k in drop])
        journal(f"adopted {seen.instance_id}: tagged {ADDRESS_TAG}={_address(name)}")

    def _retag(self, ec2: Any, name: str, spec: Ec2Instance, seen: SeenInstance) -> None:
        wanted = desired_tags(name, spec)
        put = {k: v for k, v in wanted.items() if seen.tags.get(k) != v}
        drop = [k for k in seen.tags if k not in wanted]
        if spec.protect:
            put[PROTECT_TAG] = "true"
        elif seen.protected:
            drop.append(PROTECT_TAG)
        if put:
            ec2.create_tags(Resources=[seen.instance_id], Tags=[{"Key": k, "Value": v} for k, v in put.items()])
        if drop:
            ec2.delete_tags(Resources=[seen.instance_id], Tags=[{"Key": k} for k in drop])

    def _start(self, ec2: Any, instance_id: str, address: str, journal: Journal) -> None:
        self.ctx.progress(address, f"starting {instance_id}")
        ec2.start_instances(InstanceIds=[instance_id])
        journal(f"started {instance_id}")
        self._wait_state(ec2, instance_id, "running", address)

    def _stop(self, ec2: Any, instance_id: str, address: str, journal: Journal) -> None:
        self.ctx.progress(address, f"stopping {instance_id}")
        ec2.stop_instances(InstanceIds=[instance_id])
        journal(f"stopped {instance_id}")
        self._wait_state(ec2, instance_id, "stopped", address)

    def _terminate(self, seen: SeenInstance, address: str, journal: Journal) -> None:
        ec2 = self.ec2(seen.region)
        if seen.spot_request_id:  # a persistent Spot request would launch a new instance
            ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=[seen.spot_request_id])
        self.ctx.progress(address, f"terminating {seen.instance_id}")
        ec2.terminate_instances(InstanceIds=[seen.instance_id])
        journal(f"terminated {seen.instance_id}")

    def _wait_state(self, ec2: Any, instance_id: str, target: str, address: str) -> None:
        started = time.monotonic()
        while True:
            reservations = ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations", [])
            record = reservations[0]["Instances"][0] if reservations else {}
            state = record.get("State", {}).get("Name", "gone")
            if state == target:
                return
            if state in ("shutting-down", "terminated", "gone"):
                reason = (record.get("StateReason") or {}).get("Message", "")
                raise ReconcileError(f"{instance_id} is {state}{': ' + reason if reason else ''}")
            elapsed = time.monotonic() - started
            if elapsed > STATE_WAIT_SECONDS:
                raise ReconcileError(f"{instance_id} was still {state} after {STATE_WAIT_SECONDS}s")
            self.ctx.progress(address, f"waiting for {instance_id} to be {target} (now {state}, {elapsed:.0f}s)")
            if self.ctx.aborting.wait(self.poll_seconds):  # the first signal lets the launch end; a second does not
                raise ReconcileError(f"stopped waiting while {instance_id} was {state}: {self.ctx.aborted_because}")

    # --- quota in apply ---------------------------------------------------------------------

    def _secure_quota(self, name: str, journal: Journal) -> None:
        """Before a launch or start the plan found short of quota (only with --request-quota or
        --wait-for-quota: otherwise the action was blocked): file the increase, or find the one
        already open, and with --wait-for-quota follow it until granted."""
        need = self.quota_needs.get(name)
        if need is None or not need.short:
            return
        assert need.facts is not None
        address = _address(name)
        facts = need.facts
        client = self.service_quotas(facts.region)
        request = quotas.open_request(client, facts.code)
        if request is not None and request.desired >= need.total:
            journal(f"found the open quota request {request.id} for {facts.code} → {request.desired} ({request.status})")
        else:
            request = quotas.request_increase(client, facts.code, need.total)
            journal(f"requested {facts.code} {facts.value} → {need.total} vCPUs in {facts.region} (request {request.id})")
        self.ctx.progress(address, f"quota request {request.id}: {request.status}")
        wait = self.ctx.wait_for_quota.total_seconds() if self.ctx.wait_for_quota else 0.0
        deadline = time.monotonic() + wait
        while request.status != "APPROVED":
            if request.status in quotas.REFUSED_STATUSES:
                raise ReconcileError(f"the quota increase request {request.id} was {request.status}; not launched")
            left = deadline - time.monotonic()
            if left <= 0:
                hint = "" if wait else " (or wait for it with --wait-for-quota 2h)"
                raise ReconcileError(
                    f"the quota increase request {request.id} is {request.status}: {need.numbers()}; "
                    f"not launched: apply again once it is granted{hint}"
                )
            self._count_down(address, request, min(left, self.quota_poll_seconds), deadline)
            request = quotas.request_status(client, request.id)
        journal(f"quota {facts.code} granted: {request.desired}")

    def _count_down(self, address: str, request: quotas.QuotaRequest, seconds: float, deadline: float) -> None:
        until = time.monotonic() + seconds
        while (now := time.monotonic()) < until:
            left = int(deadline - now)
            self.ctx.progress(
                address, f"waiting for quota request {request.id} ({request.status}): {left // 60}m{left % 60:02d}s left"
            )
            if self.ctx.stopping.wait(min(1.0, until - now)):
                raise ReconcileError(
                    f"apply was interrupted ({self.ctx.stopped_by or 'stopping'}) while it waited for the quota request "
                    f"{request.id}; not launched"
                )


KIND = Ec2InstanceKind
