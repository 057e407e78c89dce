"""The pull-request flow as CI runs it: `plan --comment` writes the comment whatever happens
(validation errors at FILE:LINE:COL, the plan), a plan saved in one checkout applies from another
checkout path, a stale one applies nothing and its comment carries the fresh plan, and after apply
the comment is the report. Against moto's server (S3 buckets and a cost doc: no Docker needed)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import boto3
import pytest

from reconciler.render.markdown import MARKER_COMMENT
from tests.cli.conftest import Run
from tests.support.moto_server import MotoServer

STATE = """\
aws: {region: us-east-1}
s3_buckets:
  pr-flow-exports:
    versioning: true
    tags: {Project: bqx-ml}
"""


def checkout(path: Path) -> Path:
    (path / "desired_state").mkdir(parents=True)
    (path / "desired_state" / "state.yaml").write_text(STATE)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "state"], check=True)
    return path


def test_an_invalid_state_comments_its_errors_at_file_line_col(tmp_path: Path, reconcile: Run) -> None:
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "state.yaml").write_text(
        "containers:\n  web:\n    image: nginx\n    helthcheck: {test: '<img src=x>'}\n"
    )
    result = reconcile("plan", "desired_state", "--comment", "comment.md")
    assert result.returncode == 1
    body = (tmp_path / "comment.md").read_text()
    assert body.startswith(MARKER_COMMENT) and "the desired state is invalid" in body
    assert "desired_state/state.yaml:4:5: containers.web.helthcheck: unknown key 'helthcheck'" in body


def test_a_failed_plan_comments_its_real_reason(tmp_path: Path, reconcile: Run) -> None:
    result = reconcile("plan", "nowhere", "--comment", "comment.md")
    assert result.returncode == 1
    body = (tmp_path / "comment.md").read_text()
    assert "## reconcile plan failed" in body and "error: nowhere: no such directory" in body


def test_a_refused_pull_request_tree_is_reported_after_its_number(tmp_path: Path, reconcile: Run) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tree:
        link = tarfile.TarInfo("desired_state/state.yaml")
        link.type, link.linkname = tarfile.SYMTYPE, "/home/runner/.aws/credentials"
        tree.addfile(link)
    with zipfile.ZipFile(tmp_path / "pr-state.zip", "w") as packed:
        packed.writestr("pr-number", "42\n")
        packed.writestr("head-sha", "ab" * 20 + "\n")
        packed.writestr("tree.tar", buffer.getvalue())
    result = reconcile("unpack-pr", "pr-state.zip", "pr", "--comment", "comment.md")
    assert result.returncode == 1
    assert result.stdout == f"number=42\nhead_sha={'ab' * 20}\n"
    assert "is a link or a special file" in (tmp_path / "comment.md").read_text()
    assert not (tmp_path / "pr" / "desired_state" / "state.yaml").exists()


@pytest.mark.aws
def test_a_plan_saved_in_one_checkout_applies_from_another_and_the_comment_becomes_the_report(
    aws: MotoServer, tmp_path: Path, reconcile: Run
) -> None:
    planned_in = checkout(tmp_path / "ci-plan" / "pr")
    plan = reconcile("plan", "desired_state", "--out", str(tmp_path / "plan.json"), "--comment", "comment.md", cwd=planned_in)
    assert plan.returncode == 0, plan.stderr
    assert json.loads((tmp_path / "plan.json").read_text())["state"]["dir"] == "desired_state"
    assert "+ s3_bucket.pr-flow-exports" in (planned_in / "comment.md").read_text()

    applied_in = tmp_path / "ci-apply" / "work" / "repo"
    shutil.copytree(planned_in, applied_in)
    shutil.rmtree(planned_in)  # nothing of the first checkout is left to read
    applied = reconcile("apply", str(tmp_path / "plan.json"), "--comment", "comment.md", cwd=applied_in)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "pr-flow-exports" in [b["Name"] for b in boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]]
    report = (applied_in / "comment.md").read_text()
    assert report.startswith(MARKER_COMMENT) and "**Apply complete: 1 done.**" in report


@pytest.mark.aws
def test_a_stale_plan_applies_nothing_and_its_comment_has_the_reason_and_the_fresh_plan(
    aws: MotoServer, tmp_path: Path, reconcile: Run
) -> None:
    repo = checkout(tmp_path / "repo")
    assert reconcile("plan", "--out", "plan.json", cwd=repo).returncode == 0
    (repo / "desired_state" / "state.yaml").write_text(STATE.replace("pr-flow-exports", "pr-flow-other"))
    refused = reconcile("apply", "plan.json", "--comment", "comment.md", cwd=repo)
    assert refused.returncode == 1
    assert "stale plan" in refused.stderr
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []
    body = (repo / "comment.md").read_text()
    assert "the reviewed plan is stale" in body and "the desired state changed since the plan was made" in body
    assert "+ s3_bucket.pr-flow-other" in body  # the fresh plan, to review
