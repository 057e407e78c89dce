"""Cost docs, pure: markers rewritten with every other byte kept (CRLF, no final newline), an
unknown key reported at its line and column, the generated doc and its cost change section."""

from __future__ import annotations

import pytest

from reconciler.costs.docs import render_doc, stale_figures
from reconciler.costs.generated import embedded_figures
from reconciler.costs.markers import current_values, rewrite_markers
from reconciler.errors import ConfigError, ReconcileError
from reconciler.model.spec import CostDoc
from tests.unit.test_cost_model import report_for, seed_state

MARKERS = CostDoc(path="docs/analysis.md", mode="markers")
GENERATED = CostDoc(path="docs/costs.md")

HAND_WRITTEN = (
    "# Phase 2\r\n"
    "\r\n"
    "Our own words, kept:  trailing spaces  \r\n"
    "| market | <!-- reconcile:cost ec2_instance.phase2-worker.market -->Spot<!-- /reconcile:cost --> |\r\n"
    "| total | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$19.13<!-- /reconcile:cost --> |\n"
    "hourly <!-- reconcile:cost ec2_instance.phase2-worker.hourly --><!-- /reconcile:cost --> and "
    "monthly <!--reconcile:cost total.monthly-->\n$0\n<!-- /reconcile:cost -->, é ✓ end"
)


def test_markers_rewrite_only_between_the_markers_byte_for_byte() -> None:
    report = report_for(seed_state(), {"phase2-worker": "on-demand"})
    after = render_doc(MARKERS, HAND_WRITTEN, report, "desired_state").after
    expected = (
        HAND_WRITTEN.replace("-->Spot<!--", "-->On-Demand<!--")
        .replace("-->$19.13<!--", "-->$57.80<!--")
        .replace("hourly --><!--", "hourly -->$1.36<!--")
        .replace("-->\n$0\n<!--", "-->$268.99<!--")
    )
    assert after.encode() == expected.encode()
    assert after.endswith("end") and after.count("\r\n") == 4


def test_a_current_markers_doc_is_left_exactly_as_it_is() -> None:
    report = report_for(seed_state())
    once = render_doc(MARKERS, HAND_WRITTEN, report, "d").after
    again = render_doc(MARKERS, once, report, "d")
    assert not again.stale and again.diff() == ""


def test_an_unknown_key_is_an_error_at_its_line_and_column() -> None:
    text = "a\r\nb <!-- reconcile:cost ec2_instance.phase2-worker.totl -->x<!-- /reconcile:cost -->\n"
    with pytest.raises(ConfigError) as caught:
        rewrite_markers(text, {"ec2_instance.phase2-worker.total": "$1"}, "docs/a.md")
    [problem] = caught.value.diagnostics
    assert (problem.file, problem.line, problem.col) == ("docs/a.md", 2, 23)
    assert (
        "unknown cost key 'ec2_instance.phase2-worker.totl' (did you mean 'ec2_instance.phase2-worker.total'?)" in problem.message
    )


def test_an_unclosed_marker_is_an_error_at_it() -> None:
    with pytest.raises(ConfigError) as caught:
        current_values("x\n  <!-- reconcile:cost total.monthly -->$1\n", "d.md")
    assert str(caught.value.diagnostics[0]).startswith("d.md:2:3: <!-- reconcile:cost total.monthly --> is never closed")


def test_a_markers_doc_must_exist() -> None:
    with pytest.raises(ReconcileError, match="must exist"):
        render_doc(MARKERS, None, report_for(seed_state()), "d")


def test_stale_markers_name_what_they_say_and_what_is_true() -> None:
    report = report_for(seed_state(), {"phase2-worker": "on-demand"})
    stale = stale_figures(MARKERS, HAND_WRITTEN, report)
    assert "ec2_instance.phase2-worker.total says '$19.13', now '$57.80'" in stale
    assert "ec2_instance.phase2-worker.market says 'Spot', now 'On-Demand'" in stale


def test_the_generated_doc_has_a_table_per_kind_totals_and_the_prices_date() -> None:
    text = render_doc(GENERATED, None, report_for(seed_state()), "desired_state").after
    assert "| phase2-worker | us-east-1 | c7i.8xlarge | Spot | $0.45 | 42.5 |  | $19.13 |" in text
    assert "| trillium-master | us-east-1 | t3.2xlarge | On-Demand | $0.3328 | 730/month | $242.94 |  |" in text
    assert "| bqx-ml-phase2-features | us-east-1 | STANDARD | 50 | $0.023 | $1.15 |" in text
    assert "| vps | $24.90 |" in text
    assert (
        "| monthly | $268.99 |" in text
        and "| one-off | $19.13 |" in text
        and "| annual (12 × monthly + one-off) | $3,247.01 |" in text
    )
    assert "Prices: prices as of 2025-11-14: " in text and "with the overrides under `prices:`" in text
    assert "## Cost change\n\nFirst version: no earlier figures to compare with.\n" in text


def test_the_cost_change_section_says_what_changed_and_why() -> None:
    state = seed_state()
    spot = render_doc(GENERATED, None, report_for(state), "d").after
    on_demand = render_doc(GENERATED, spot, report_for(state, {"phase2-worker": "on-demand"}), "d").after
    assert (
        "| phase2-worker | us-east-1 | c7i.8xlarge | On-Demand (declared Spot: fell back) | $1.36 | 42.5 |  | $57.80 |"
        in on_demand
    )
    assert "- phase2-worker fell back from Spot to On-Demand: +$38.67 (one-off $19.13 → $57.80, +202 %)" in on_demand
    assert "- One-off total $19.13 → $57.80 (+$38.67)" in on_demand
    assert "- Annual total $3,247.01 → $3,285.68 (+$38.67)" in on_demand
    # regenerating with nothing new keeps the section: a current doc stays current
    assert not render_doc(GENERATED, on_demand, report_for(state, {"phase2-worker": "on-demand"}), "d").stale
    figures, previous = embedded_figures(on_demand)
    assert figures is not None and previous is not None
    assert figures["ec2_instance.phase2-worker"]["amount"] == "$57.80"
    assert previous["ec2_instance.phase2-worker"]["amount"] == "$19.13"


def test_other_changes_are_explained_too() -> None:
    before = render_doc(GENERATED, None, report_for(seed_state()), "d").after
    bigger = seed_state(s3_buckets={"bqx-ml-phase2-features": {"expected_gb": 100}, "new-bucket": {"expected_gb": 10}})
    text = render_doc(GENERATED, before, report_for(bigger), "d").after
    assert "- bqx-ml-phase2-features expected size changed from 50 GB to 100 GB: +$1.15 (monthly $1.15 → $2.30, +100 %)" in text
    assert "- new-bucket added: $0.23 monthly" in text
    assert "- Monthly total $268.99 → $270.37 (+$1.38)" in text


def test_a_generated_doc_keeps_crlf_line_endings() -> None:
    first = render_doc(GENERATED, None, report_for(seed_state()), "d").after.replace("\n", "\r\n")
    again = render_doc(GENERATED, first, report_for(seed_state()), "d")
    assert not again.stale


def test_the_diff_is_unified() -> None:
    report = report_for(seed_state(), {"phase2-worker": "on-demand"})
    diff = render_doc(MARKERS, HAND_WRITTEN, report, "d").diff()
    assert diff.startswith("--- a/docs/analysis.md\n+++ b/docs/analysis.md\n@@")
    assert "\n-| total | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$19.13" in diff
    assert "\\ No newline at end of file\n" in diff
