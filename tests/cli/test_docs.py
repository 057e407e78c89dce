"""`reconcile docs [--check]` and the plan's costs, as a user runs them (a new process, no TTY),
against moto's server (the EC2 kind looks for instances; none run here, so declared markets count)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import Run
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

STATE = """\
aws: {region: us-east-1}
ec2_instances:
  phase2-worker:
    instance_type: c7i.8xlarge
    ami: ami-0123456789abcdef0
    market: spot
    spot_fallback: on-demand
    hours: 42.5
prices:
  ec2: {us-east-1: {c7i.8xlarge: {on-demand: 1.36, spot: 0.45}}}
cost_docs:
  - path: docs/costs.md
  - path: docs/analysis.md
    mode: markers
"""
FIELD_REPORTS = Path(__file__).resolve().parents[2] / "docs" / "field-reports"
HAND_WRITTEN = "Ours.\r\n| worker | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$0.00<!-- /reconcile:cost --> |\r\nno newline at the end"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # cost doc paths start at the repository that holds the state
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "state.yaml").write_text(STATE)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "analysis.md").write_bytes(HAND_WRITTEN.encode())
    shutil.copytree(FIELD_REPORTS, tmp_path / "docs" / "field-reports")  # "$19.13", "Spot": and not a cost doc
    return tmp_path


def test_docs_check_fails_with_a_diff_then_docs_writes_then_check_passes(aws: MotoServer, repo: Path, reconcile: Run) -> None:
    stale = reconcile("docs", "desired_state", "--check", cwd=repo)
    assert stale.returncode == 1, stale.stderr
    assert "--- /dev/null\n+++ b/docs/costs.md\n" in stale.stdout
    assert "--- a/docs/analysis.md\n+++ b/docs/analysis.md\n" in stale.stdout
    assert "+| worker | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$19.13<!-- /reconcile:cost --> |" in stale.stdout
    assert "2 cost docs stale" in stale.stderr
    assert not (repo / "docs" / "costs.md").exists()  # --check changes nothing

    wrote = reconcile("docs", "desired_state", cwd=repo)
    assert wrote.returncode == 0, wrote.stderr
    assert "wrote docs/costs.md" in wrote.stdout
    assert (repo / "docs" / "analysis.md").read_bytes() == HAND_WRITTEN.replace("$0.00", "$19.13").encode()
    assert "| one-off | $19.13 |" in (repo / "docs" / "costs.md").read_text()

    current = reconcile("docs", "desired_state", "--check", cwd=repo)
    assert current.returncode == 0, current.stdout + current.stderr
    assert current.stdout == "" or "cost docs are current" in current.stdout
    assert "field-reports" not in stale.stdout + wrote.stdout  # only declared docs are read or written
    for report in FIELD_REPORTS.iterdir():
        assert (repo / "docs" / "field-reports" / report.name).read_bytes() == report.read_bytes()


def test_an_unknown_marker_key_is_an_error_at_its_line(aws: MotoServer, repo: Path, reconcile: Run) -> None:
    (repo / "docs" / "analysis.md").write_text("x\n  <!-- reconcile:cost total.monthy -->?<!-- /reconcile:cost -->\n")
    result = reconcile("docs", "desired_state", "--check", cwd=repo)
    assert result.returncode == 1
    assert "docs/analysis.md:2:23: unknown cost key 'total.monthy' (did you mean 'total.monthly'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_plan_has_the_costs_block_and_ends_with_the_total(aws: MotoServer, repo: Path, reconcile: Run) -> None:
    as_json = reconcile("plan", "desired_state", "--format", "json", cwd=repo)
    assert as_json.returncode == 0, as_json.stderr
    costs = json.loads(as_json.stdout)["costs"]
    assert costs["monthly_usd"] == 0.0 and costs["one_off_usd"] == 19.13
    [worker] = costs["lines"]
    assert worker["address"] == "ec2_instance.phase2-worker" and worker["one_off_usd"] == 19.13 and worker["market"] == "spot"
    actions = {a["address"]: a for a in json.loads(as_json.stdout)["actions"]}
    assert actions["cost_doc.docs/costs.md"]["action"] == "create"
    assert actions["cost_doc.docs/analysis.md"]["action"] == "update"
    assert "ec2_instance.phase2-worker" in actions["cost_doc.docs/analysis.md"]["depends_on"]

    text = reconcile("plan", "desired_state", cwd=repo)
    assert text.stdout.rstrip().endswith("Cost: $0.00/month → $0.00/month (±$0.00), one-off $0.00 → $19.13; annual $19.13.")
    assert "cost-doc-stale" in text.stdout
