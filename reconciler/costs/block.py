"""The plan's `costs` block (SPEC §3.2) from the cost reports after and before the plan."""

from __future__ import annotations

from reconciler.costs.model import BucketLine, CostReport, HostLine, InstanceLine
from reconciler.costs.money import cents
from reconciler.plan.schema import CostLine, Costs


def _line(line: InstanceLine | BucketLine | HostLine) -> CostLine:
    if isinstance(line, InstanceLine):
        return CostLine(
            address=line.address,
            description=line.description,
            monthly_usd=cents(line.monthly),
            one_off_usd=cents(line.one_off),
            market=line.market,
            declared_market=line.declared_market,
            hourly_usd=line.hourly,
        )
    return CostLine(address=line.address, description=line.description, monthly_usd=cents(line.monthly))


def costs_block(after: CostReport, before: CostReport) -> Costs:
    return Costs(
        monthly_usd=after.monthly,
        one_off_usd=after.one_off,
        annual_usd=after.annual,
        monthly_usd_before=before.monthly,
        one_off_usd_before=before.one_off,
        prices=after.provenance,
        lines=[_line(line) for line in after.lines()],
    )
