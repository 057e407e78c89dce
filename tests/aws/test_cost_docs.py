"""The known-issues report's story (docs/field-reports/known-issues-phase2.md) end to end on moto's server: the docs say Spot $19.13; the worker really runs
On-Demand (launched here through boto3 with our address tag and On-Demand lifecycle, as a fallback
launch leaves it); then `docs --check` fails, the plan reports spot-fallback with +$38.67, and
`docs` writes $57.80 into the generated doc and between the markers, leaving the rest byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest

from tests.support.cli import run_reconcile
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
  - path: docs/phase_2_ec2_cost_analysis.md
    mode: markers
"""
MARKERS = (
    "# Phase 2\n\nOur words stay.\r\n"
    "| market | <!-- reconcile:cost ec2_instance.phase2-worker.market -->Spot<!-- /reconcile:cost --> |\n"
    "| 42.5 h | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$19.13<!-- /reconcile:cost --> |\n"
    "one-off total: <!-- reconcile:cost total.one_off -->$19.13<!-- /reconcile:cost -->"
)


def reconcile(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_reconcile(*args, cwd=cwd, timeout=120)


def launch_on_demand_worker() -> str:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [
        {"Key": "reconciler:address", "Value": "ec2_instance.phase2-worker"},
        {"Key": "reconciler:market", "Value": "on-demand"},
        {"Key": "reconciler:fallback", "Value": "spot-capacity"},
    ]
    launched = ec2.run_instances(
        ImageId=image,
        InstanceType="c7i.8xlarge",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    instance = launched["Instances"][0]
    assert "InstanceLifecycle" not in instance  # On-Demand
    return str(instance["InstanceId"])


def test_the_worker_that_really_runs_on_demand_makes_the_docs_say_57_80(aws: MotoServer, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "state.yaml").write_text(STATE)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "phase_2_ec2_cost_analysis.md").write_bytes(MARKERS.encode())
    assert reconcile("docs", "desired_state", cwd=tmp_path).returncode == 0  # documented while nothing runs: Spot
    generated = (tmp_path / "docs" / "costs.md").read_text()
    assert (
        "| phase2-worker | us-east-1 | c7i.8xlarge | Spot (not launched yet; may fall back to On-Demand) | $0.45 | 42.5 |  | $19.13 |"
        in generated
    )

    launch_on_demand_worker()

    stale = reconcile("docs", "desired_state", "--check", cwd=tmp_path)
    assert stale.returncode == 1
    assert "-| 42.5 h | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$19.13" in stale.stdout
    assert "+| 42.5 h | <!-- reconcile:cost ec2_instance.phase2-worker.total -->$57.80" in stale.stdout

    plan = json.loads(reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path).stdout)
    [fallback] = [f for f in plan["findings"] if f["code"] == "spot-fallback"]
    assert fallback["address"] == "ec2_instance.phase2-worker"
    assert "$57.80 one-off instead of $19.13: +$38.67 (+202 %)" in fallback["message"]
    assert {f["address"] for f in plan["findings"] if f["code"] == "cost-doc-stale"} == {
        "cost_doc.docs/costs.md",
        "cost_doc.docs/phase_2_ec2_cost_analysis.md",
    }
    assert plan["costs"]["one_off_usd"] == 57.8

    assert reconcile("docs", "desired_state", cwd=tmp_path).returncode == 0
    expected = MARKERS.replace("-->Spot<!--", "-->On-Demand<!--").replace("-->$19.13<!--", "-->$57.80<!--")
    assert (tmp_path / "docs" / "phase_2_ec2_cost_analysis.md").read_bytes() == expected.encode()
    generated = (tmp_path / "docs" / "costs.md").read_text()
    assert (
        "| phase2-worker | us-east-1 | c7i.8xlarge | On-Demand (declared Spot: fell back) | $1.36 | 42.5 |  | $57.80 |"
        in generated
    )
    assert "- phase2-worker fell back from Spot to On-Demand: +$38.67 (one-off $19.13 → $57.80, +202 %)" in generated
    assert reconcile("docs", "desired_state", "--check", cwd=tmp_path).returncode == 0
