"""The cost model and the catalog, pure: the field reports' numbers (docs/field-reports/) exactly, rounding half-up, overrides
over the catalog, the findings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from reconciler.costs.block import costs_block
from reconciler.costs.catalog import Catalog, Market, catalog_for, parse_catalog, shipped_catalog
from reconciler.costs.findings import cost_findings
from reconciler.costs.model import CostReport, Facts, RunningInstance, cost_report, current_report, facts_from
from reconciler.costs.money import cents, rate, signed_usd, usd
from reconciler.model.spec import Prices, State

WORKER = {
    "instance_type": "c7i.8xlarge",
    "ami": "ami-0123456789abcdef0",
    "market": "spot",
    "spot_fallback": "on-demand",
    "hours": "42.5",
}
MASTER = {"instance_type": "t3.2xlarge", "ami": "ami-0123456789abcdef0", "market": "on-demand"}
SEED_PRICES = {
    "ec2": {
        "us-east-1": {
            "c7i.8xlarge": {"on-demand": "1.36", "spot": "0.45"},
            "t3.2xlarge": {"on-demand": "0.3328", "spot": "0.1331"},
        }
    },
    "s3": {"us-east-1": {"standard_gb_month": "0.023"}},
}


def seed_state(**sections: Any) -> State:
    document: dict[str, Any] = {
        "aws": {"region": "us-east-1"},
        "ec2_instances": {"phase2-worker": WORKER, "trillium-master": MASTER},
        "s3_buckets": {"bqx-ml-phase2-features": {"expected_gb": 50}},
        "hosts": {"vps": {"docker": "unix:///var/run/docker.sock", "monthly_cost": "24.90"}},
        "prices": SEED_PRICES,
    }
    document.update(sections)
    return State.model_validate(document)


def report_for(state: State, markets: dict[str, Market] | None = None) -> CostReport:
    facts = Facts({name: RunningInstance(market=m) for name, m in markets.items()}) if markets is not None else Facts()
    return cost_report(state, catalog_for(state.prices), facts)


def line(report: CostReport, address: str) -> Any:
    return next(item for item in report.lines() if item.address == address)


def test_the_field_reports_spot_worker_documents_19_13() -> None:
    worker = line(report_for(seed_state()), "ec2_instance.phase2-worker")
    assert worker.market == "spot"
    assert worker.amount == Decimal("19.125")
    assert usd(worker.amount) == "$19.13"
    assert worker.monthly == 0 and worker.one_off == Decimal("19.125")


def test_the_worker_that_really_runs_on_demand_costs_57_80() -> None:
    worker = line(report_for(seed_state(), {"phase2-worker": "on-demand"}), "ec2_instance.phase2-worker")
    assert worker.market == "on-demand" and worker.fell_back
    assert usd(worker.amount) == "$57.80"


def test_spot_fallback_finding_says_plus_38_67() -> None:
    state = seed_state()
    report = report_for(state, {"phase2-worker": "on-demand"})
    findings = cost_findings(report, catalog_for(state.prices), None)
    assert [f.code for f in findings] == ["spot-fallback"]
    assert findings[0].address == "ec2_instance.phase2-worker"
    assert "$57.80 one-off instead of $19.13: +$38.67 (+202 %)" in findings[0].message
    assert "runs On-Demand, not the declared Spot" in findings[0].message


def test_no_fallback_no_finding() -> None:
    state = seed_state()
    assert cost_findings(report_for(state, {"phase2-worker": "spot"}), catalog_for(state.prices), None) == []


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("19.125", "$19.13"),
        ("0.005", "$0.01"),
        ("0.004999", "$0.00"),
        ("2.675", "$2.68"),
        ("1234.5", "$1,234.50"),
        ("-3.145", "-$3.15"),
    ],
)
def test_money_is_rounded_half_up_to_cents(amount: str, shown: str) -> None:
    assert usd(Decimal(amount)) == shown


def test_rates_keep_their_digits_and_differences_carry_a_sign() -> None:
    assert rate(Decimal("0.45")) == "$0.45"
    assert rate(Decimal("0.3328")) == "$0.3328"
    assert rate(Decimal("2")) == "$2.00"
    assert signed_usd(Decimal("38.67")) == "+$38.67"
    assert signed_usd(Decimal("-1")) == "-$1.00"
    assert cents(Decimal("57.80")) - cents(Decimal("19.125")) == Decimal("38.67")


def test_monthly_one_off_and_annual_totals() -> None:
    report = report_for(seed_state())
    # master 0.3328 × 730 = 242.944 → 242.94; bucket 50 × 0.023 = 1.15; host 24.90
    assert report.monthly == Decimal("268.99")
    assert report.one_off == Decimal("19.13")
    assert report.annual == Decimal("268.99") * 12 + Decimal("19.13")


def test_the_states_prices_override_the_catalog_price_by_price() -> None:
    shipped = shipped_catalog()
    assert shipped.date and shipped.source
    assert shipped.hourly("us-east-1", "c7i.8xlarge", "on-demand") == Decimal("1.428")
    prices = Prices.model_validate({"ec2": {"us-east-1": {"c7i.8xlarge": {"on-demand": "1.36"}}}})
    merged = shipped.with_overrides(prices)
    assert merged.hourly("us-east-1", "c7i.8xlarge", "on-demand") == Decimal("1.36")
    assert merged.hourly("us-east-1", "c7i.8xlarge", "spot") == shipped.hourly("us-east-1", "c7i.8xlarge", "spot")
    assert merged.overridden and "overrides" in merged.provenance()
    assert not shipped.overridden


def test_the_catalog_round_trips_exactly() -> None:
    catalog = Catalog(
        "2025-01-01",
        "test",
        {"us-east-1": {"t3.micro": {"on-demand": Decimal("0.0104")}}},
        {"us-east-1": {"standard": Decimal("0.023")}},
    )
    again = parse_catalog(catalog.to_json(), "x")
    assert again.hourly("us-east-1", "t3.micro", "on-demand") == Decimal("0.0104")
    assert again.gb_month("us-east-1", "standard") == Decimal("0.023")


def test_hours_omitted_is_730_a_month_and_stopped_costs_no_compute() -> None:
    master = line(report_for(seed_state()), "ec2_instance.trillium-master")
    assert master.monthly == Decimal("0.3328") * 730 and master.one_off == 0
    stopped = seed_state(ec2_instances={"m": {**MASTER, "state": "stopped"}})
    assert line(report_for(stopped), "ec2_instance.m").amount == 0


def test_over_budget_is_an_error_with_the_numbers() -> None:
    state = seed_state()
    findings = cost_findings(report_for(state), catalog_for(state.prices), Decimal("200"))
    assert [(f.severity, f.code) for f in findings] == [("error", "over-budget")]
    assert "$268.99 is above max_monthly_usd $200.00 by $68.99" in findings[0].message


def test_an_unknown_price_is_a_warning_not_a_guess() -> None:
    state = seed_state(ec2_instances={"odd": {**MASTER, "instance_type": "x2iedn.32xlarge"}}, prices={})
    findings = cost_findings(report_for(state), catalog_for(state.prices), None)
    assert [(f.code, f.address) for f in findings] == [("price-unknown", "ec2_instance.odd")]


def test_facts_come_from_records_by_their_attributes() -> None:
    class Record:
        market = "on-demand"
        instance_type = "c7i.8xlarge"
        state = "running"

    class Gone(Record):
        state = "terminated"

    facts = facts_from({"a": Record(), "b": Gone()}, None)
    assert facts.instances == {"a": RunningInstance("on-demand", "c7i.8xlarge", "running")}
    assert facts.buckets is None


def test_the_costs_block_has_a_line_per_resource_and_the_before() -> None:
    state = seed_state()
    facts = Facts({"trillium-master": RunningInstance("on-demand")}, frozenset())
    after = cost_report(state, catalog_for(state.prices), facts)
    block = costs_block(after, current_report(after, facts))
    assert [c.address for c in block.lines] == [
        "ec2_instance.phase2-worker",
        "ec2_instance.trillium-master",
        "s3_bucket.bqx-ml-phase2-features",
        "host.vps",
    ]
    assert block.monthly_usd == Decimal("268.99") and block.one_off_usd == Decimal("19.13")
    assert block.monthly_usd_before == Decimal("242.94") + Decimal("24.90") and block.one_off_usd_before == 0
    dumped = block.model_dump(mode="json")
    assert set(dumped) == {"monthly_usd", "one_off_usd", "lines"}  # SPEC §3.2
    assert dumped["one_off_usd"] == 19.13 and dumped["lines"][0]["market"] == "spot"
    assert dumped["lines"][1]["monthly_usd_before"] == 242.94 and dumped["lines"][0]["one_off_usd_before"] == 0
