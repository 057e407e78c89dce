"""The plan's `costs` block (SPEC §3.2) from the cost reports after and before the plan."""

from __future__ import annotations

from decimal import Decimal

from reconciler.costs.model import CostReport, InstanceLine, Line
from reconciler.costs.money import cents
from reconciler.plan.schema import CostLine, Costs


def _line(line: Line, now: Line | None) -> CostLine:
    before = {
        "monthly_usd_before": cents(now.monthly) if now else Decimal(0),
        "one_off_usd_before": cents(now.one_off) if now else Decimal(0),
    }
    if isinstance(line, InstanceLine):
        return CostLine(
            address=line.address,
            description=line.description,
            monthly_usd=cents(line.monthly),
            one_off_usd=cents(line.one_off),
            market=line.market,
            declared_market=line.declared_market,
            hourly_usd=line.hourly,
            **before,
        )
    return CostLine(address=line.address, description=line.description, monthly_usd=cents(line.monthly), **before)


def costs_block(after: CostReport, before: CostReport) -> Costs:
    now = {line.address: line for line in before.lines()}
    return Costs(
        monthly_usd=after.monthly,
        one_off_usd=after.one_off,
        lines=[_line(line, now.get(line.address)) for line in after.lines()],
    )
