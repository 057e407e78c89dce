"""The cost model (pure): the desired state, the catalog and the facts of what runs → one line per
resource and the totals.

- An EC2 instance costs its hourly price × `hours`, or × 730 h a month when `hours` is omitted. With
  `hours` it is a one-off cost (a temporary worker), without it a monthly one. The price is the one
  of the market that really runs where the instance exists (the fallback tag or the lifecycle, as
  the EC2 kind observed it), else of the declared market. A stopped instance costs no compute.
- An S3 bucket costs `expected_gb` × the STANDARD price per GB-month (objects are written STANDARD;
  lifecycle transitions only lower it later).
- A host costs its `monthly_cost`.
Totals add the lines as shown (each rounded half-up to cents), so a table always adds up; annual is
12 × monthly + one-off."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reconciler.costs.catalog import Catalog, Market
from reconciler.costs.money import HOURS_PER_MONTH, MONTHS_PER_YEAR, cents
from reconciler.model.spec import Ec2Instance, State

MARKET_NAMES: dict[str, str] = {"spot": "Spot", "on-demand": "On-Demand"}
BUCKET_STORAGE_CLASS = "standard"
GONE_STATES = ("terminated", "shutting-down")


@dataclass(frozen=True)
class RunningInstance:
    """What the EC2 kind saw of one instance (read by duck typing: costs never imports a kind)."""

    market: Market | None = None
    instance_type: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class Facts:
    """What runs: instances and buckets that exist, by name; None where nobody looked (no kind for
    it yet): then the declared markets are all there is, and everything is taken to exist."""

    instances: Mapping[str, RunningInstance] | None = None
    buckets: frozenset[str] | None = None

    def running(self, name: str) -> RunningInstance | None:
        return (self.instances or {}).get(name)


def facts_from(instances: Mapping[str, Any] | None, buckets: Mapping[str, Any] | None = None) -> Facts:
    """From kinds' observation records (``Observation.data``) by name: an instance record with
    ``market``/``instance_type``/``state`` attributes; any bucket record means the bucket exists."""
    seen: dict[str, RunningInstance] = {}
    for name, record in (instances or {}).items():
        state = getattr(record, "state", None)
        if state in GONE_STATES:
            continue
        market = getattr(record, "market", None)
        kind = getattr(record, "instance_type", None)
        seen[name] = RunningInstance(
            market=market if market in ("spot", "on-demand") else None,
            instance_type=kind if isinstance(kind, str) else None,
            state=state if isinstance(state, str) else None,
        )
    return Facts(seen if instances is not None else None, frozenset(buckets) if buckets is not None else None)


@dataclass(frozen=True)
class InstanceLine:
    name: str
    region: str
    instance_type: str
    declared_market: Market
    market: Market  # the one priced: what runs, else the declared one
    runs: bool  # the instance exists now
    may_fall_back: bool  # declared Spot with spot_fallback: on-demand and not launched yet
    charged: bool  # desired state running (a stopped instance costs no compute)
    hourly: Decimal | None  # None: no price known
    hours: Decimal | None  # None: 24/7, monthly

    @property
    def address(self) -> str:
        return f"ec2_instance.{self.name}"

    @property
    def fell_back(self) -> bool:
        return self.runs and self.market != self.declared_market

    @property
    def amount(self) -> Decimal:
        if not self.charged or self.hourly is None:
            return Decimal(0)
        return self.hourly * (self.hours if self.hours is not None else HOURS_PER_MONTH)

    @property
    def monthly(self) -> Decimal:
        return self.amount if self.hours is None else Decimal(0)

    @property
    def one_off(self) -> Decimal:
        return self.amount if self.hours is not None else Decimal(0)

    def price_of(self, market: Market, catalog: Catalog) -> Decimal | None:
        return catalog.hourly(self.region, self.instance_type, market)

    @property
    def description(self) -> str:
        hours = f"{self.hours} h" if self.hours is not None else "730 h/month"
        price = f"${self.hourly}/h" if self.hourly is not None else "no price known"
        state = "" if self.charged else ", stopped"
        return f"{self.instance_type} {MARKET_NAMES[self.market]} in {self.region}, {price} × {hours}{state}"


@dataclass(frozen=True)
class BucketLine:
    name: str
    region: str
    storage_class: str
    gb: Decimal
    gb_month: Decimal | None

    @property
    def address(self) -> str:
        return f"s3_bucket.{self.name}"

    @property
    def monthly(self) -> Decimal:
        return self.gb * self.gb_month if self.gb_month is not None else Decimal(0)

    @property
    def one_off(self) -> Decimal:
        return Decimal(0)

    @property
    def description(self) -> str:
        price = f"${self.gb_month}/GB-month" if self.gb_month is not None else "no price known"
        return f"{self.gb} GB {self.storage_class.upper()} in {self.region}, {price}"


@dataclass(frozen=True)
class HostLine:
    name: str
    monthly: Decimal

    @property
    def one_off(self) -> Decimal:
        return Decimal(0)

    @property
    def address(self) -> str:
        return f"host.{self.name}"

    @property
    def description(self) -> str:
        return "flat monthly fee"


Line = InstanceLine | BucketLine | HostLine


@dataclass(frozen=True)
class CostReport:
    instances: list[InstanceLine]
    buckets: list[BucketLine]
    hosts: list[HostLine]
    provenance: str

    def lines(self) -> list[Line]:
        return [*self.instances, *self.buckets, *self.hosts]

    @property
    def monthly(self) -> Decimal:
        return sum((cents(line.monthly) for line in self.lines()), Decimal(0))

    @property
    def one_off(self) -> Decimal:
        return sum((cents(line.one_off) for line in self.instances), Decimal(0))

    @property
    def annual(self) -> Decimal:
        return self.monthly * MONTHS_PER_YEAR + self.one_off

    def unpriced(self) -> list[str]:
        """What has no price (a line costed at $0), as `address: what is missing`."""
        missing = [
            f"{line.address}: no {MARKET_NAMES[line.market]} price for {line.instance_type} in {line.region}"
            for line in self.instances
            if line.hourly is None
        ]
        missing += [
            f"{line.address}: no {line.storage_class.upper()} price in {line.region}"
            for line in self.buckets
            if line.gb_month is None
        ]
        return missing


def _falls_back(spec: Ec2Instance) -> bool:
    return spec.market == "spot" and spec.spot_fallback == "on-demand"


def cost_report(state: State, catalog: Catalog, facts: Facts) -> CostReport:
    instances = []
    for name, spec in sorted(state.ec2_instances.items()):
        if spec.state == "absent":
            continue
        running = facts.running(name)
        market: Market = running.market if running and running.market else spec.market
        region = spec.region or ""
        instances.append(
            InstanceLine(
                name=name,
                region=region,
                instance_type=spec.instance_type,
                declared_market=spec.market,
                market=market,
                runs=running is not None,
                may_fall_back=facts.instances is not None and running is None and _falls_back(spec),
                charged=spec.state == "running",
                hourly=catalog.hourly(region, spec.instance_type, market),
                hours=spec.hours,
            )
        )
    buckets = [
        BucketLine(
            name=name,
            region=spec.region or "",
            storage_class=BUCKET_STORAGE_CLASS,
            gb=spec.expected_gb or Decimal(0),
            gb_month=catalog.gb_month(spec.region or "", BUCKET_STORAGE_CLASS),
        )
        for name, spec in sorted(state.s3_buckets.items())
    ]
    hosts = [HostLine(name, host.monthly_cost) for name, host in sorted(state.hosts.items()) if host.monthly_cost is not None]
    return CostReport(instances, buckets, hosts, catalog.provenance())


def current_report(report: CostReport, facts: Facts) -> CostReport:
    """The same costs limited to what exists now (the plan's "before"): instances that run, buckets
    that exist, every host. Where nobody looked, everything is taken to exist."""
    return CostReport(
        [line for line in report.instances if facts.instances is None or line.runs],
        [line for line in report.buckets if facts.buckets is None or line.name in facts.buckets],
        report.hosts,
        report.provenance,
    )
