"""A state that declares only AWS resources plans and applies without any Docker engine: with no
hosts: section and no containers, reconcile does not manage Docker at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_reconcile
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws


def test_an_aws_only_state_needs_no_docker_engine(tmp_path: Path, aws: MotoServer) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "s3.yaml").write_text("aws: {region: us-east-1}\ns3_buckets:\n  aws-only-exports: {versioning: true}\n")
    nowhere = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine-here.sock"}

    plan = run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path, env=nowhere)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "+ s3_bucket.aws-only-exports" in plan.stdout
    assert "Docker" not in plan.stdout + plan.stderr

    assert run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path, env=nowhere).returncode == 0
    assert run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path, env=nowhere).returncode == 0
