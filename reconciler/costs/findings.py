"""Findings from the cost report (pure): spot-fallback, over-budget, price-unknown."""

from __future__ import annotations

from decimal import Decimal

from reconciler.costs.catalog import Catalog
from reconciler.costs.model import MARKET_NAMES, CostReport, InstanceLine
from reconciler.costs.money import HOURS_PER_MONTH, cents, percent_change, signed_usd, usd
from reconciler.plan.schema import Finding

BUDGET_ADDRESS = "policies.max_monthly_usd"


def declared_amount(line: InstanceLine, catalog: Catalog) -> Decimal | None:
    """What the instance would cost at its declared market."""
    hourly = line.price_of(line.declared_market, catalog)
    if hourly is None or not line.charged:
        return None if hourly is None else Decimal(0)
    return hourly * (line.hours if line.hours is not None else HOURS_PER_MONTH)


def spot_fallback(line: InstanceLine, catalog: Catalog) -> Finding | None:
    if not line.fell_back:
        return None
    runs, declared = MARKET_NAMES[line.market], MARKET_NAMES[line.declared_market]
    term = "one-off" if line.hours is not None else "a month"
    planned = declared_amount(line, catalog)
    if planned is None or line.hourly is None:
        money = "the difference is unknown (a price is missing)"
    else:
        difference = cents(line.amount) - cents(planned)
        percent = percent_change(planned, line.amount)
        money = f"{usd(line.amount)} {term} instead of {usd(planned)}: {signed_usd(difference)}" + (
            f" ({percent})" if percent else ""
        )
    return Finding(
        severity="warning",
        address=line.address,
        code="spot-fallback",
        message=f"{line.name} runs {runs}, not the declared {declared}: {money}",
        remedy="budget for the market that runs (the cost docs do), or stop it and launch again when Spot capacity is back",
    )


def over_budget(report: CostReport, limit: Decimal | None) -> Finding | None:
    if limit is None or report.monthly <= limit:
        return None
    return Finding(
        severity="error",
        address=BUDGET_ADDRESS,
        code="over-budget",
        message=(
            f"projected monthly total {usd(report.monthly)} is above max_monthly_usd {usd(limit)} "
            f"by {usd(report.monthly - limit)} (one-off costs besides: {usd(report.one_off)})"
        ),
        remedy="lower the desired state's costs, or raise policies.max_monthly_usd",
    )


def cost_findings(report: CostReport, catalog: Catalog, limit: Decimal | None) -> list[Finding]:
    found = [finding for line in report.instances if (finding := spot_fallback(line, catalog))]
    budget = over_budget(report, limit)
    if budget:
        found.append(budget)
    for missing in report.unpriced():
        address, _, what = missing.partition(": ")
        found.append(
            Finding(
                severity="warning",
                address=address,
                code="price-unknown",
                message=f"{what}: costed at $0.00",
                remedy="add it under prices: in the desired state, or run `reconcile prices --refresh`",
            )
        )
    return found
