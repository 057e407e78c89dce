"""Everything the plan says about money, from the state and the kinds' observation records: the
costs block (after the plan, and what exists now) and the cost findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.costs.block import costs_block
from reconciler.costs.catalog import catalog_for
from reconciler.costs.findings import cost_findings
from reconciler.costs.model import cost_report, current_report, facts_from
from reconciler.model.spec import State
from reconciler.plan.schema import Costs, Finding


def assess(state: State, instances: Mapping[str, Any] | None, buckets: Mapping[str, Any] | None) -> tuple[Costs, list[Finding]]:
    """``instances``/``buckets``: observation records by name (None: that kind was not observed)."""
    catalog = catalog_for(state.prices)
    facts = facts_from(instances, buckets)
    report = cost_report(state, catalog, facts)
    return costs_block(report, current_report(report, facts)), cost_findings(report, catalog, state.policies.max_monthly_usd)
