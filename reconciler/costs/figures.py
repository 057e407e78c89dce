"""The figures a cost doc shows, by key (SPEC §1.6 marker keys), as the doc shows them, and the
snapshot a generated doc embeds so that the next version can say what changed and why."""

from __future__ import annotations

from reconciler.costs.model import MARKET_NAMES, CostReport
from reconciler.costs.money import rate, usd

Snapshot = dict[str, dict[str, str]]  # address → field → shown value ("total" holds the totals)
UNKNOWN = "unknown"


def marker_values(report: CostReport) -> dict[str, str]:
    """Every marker key and the text written between its markers."""
    values: dict[str, str] = {}
    for line in report.instances:
        values[f"{line.address}.hourly"] = rate(line.hourly) if line.hourly is not None else UNKNOWN
        values[f"{line.address}.total"] = usd(line.amount) if line.hourly is not None else UNKNOWN
        values[f"{line.address}.market"] = MARKET_NAMES[line.market]
    for bucket in report.buckets:
        values[f"{bucket.address}.monthly"] = usd(bucket.monthly) if bucket.gb_month is not None else UNKNOWN
    for host in report.hosts:
        values[f"{host.address}.monthly"] = usd(host.monthly)
    values["total.monthly"] = usd(report.monthly)
    values["total.one_off"] = usd(report.one_off)
    values["total.annual"] = usd(report.annual)
    return values


def snapshot(report: CostReport) -> Snapshot:
    """What each line was, and why: enough to explain a later change."""
    shot: Snapshot = {}
    for line in report.instances:
        shot[line.address] = {
            "type": line.instance_type,
            "market": line.market,
            "declared": line.declared_market,
            "hourly": str(line.hourly) if line.hourly is not None else UNKNOWN,
            "hours": str(line.hours) if line.hours is not None else "730/month",
            "amount": usd(line.amount),
            "term": "one-off" if line.hours is not None else "monthly",
            "state": "running" if line.charged else "stopped",
        }
    for bucket in report.buckets:
        shot[bucket.address] = {
            "gb": str(bucket.gb),
            "gb_month": str(bucket.gb_month) if bucket.gb_month is not None else UNKNOWN,
            "amount": usd(bucket.monthly),
            "term": "monthly",
        }
    for host in report.hosts:
        shot[host.address] = {"amount": usd(host.monthly), "term": "monthly"}
    shot["total"] = {"monthly": usd(report.monthly), "one_off": usd(report.one_off), "annual": usd(report.annual)}
    return shot
