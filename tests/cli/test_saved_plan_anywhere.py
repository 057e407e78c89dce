"""A saved plan applies from any working directory: its state directory is found under the git top
level of the current directory, else under the current directory, else where the plan was made
(issue 23: `plan /tmp/x --out /tmp/x/p.json && apply /tmp/x/p.json` from inside another git
repository failed with "x: no such directory"). A cost doc is the state: no Docker, no AWS."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli import run_reconcile

STATE = "version: 1\ncost_docs: [{path: docs/costs.md}]\n"


def git_repository(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    return path


def test_a_plan_of_a_directory_outside_any_repository_applies_from_inside_another_repository(tmp_path: Path) -> None:
    state_dir = tmp_path / "x"
    state_dir.mkdir()
    (state_dir / "state.yaml").write_text(STATE)
    elsewhere = git_repository(tmp_path / "another-repository")
    planned = run_reconcile("plan", str(state_dir), "--out", str(state_dir / "p.json"), cwd=elsewhere)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    applied = run_reconcile("apply", str(state_dir / "p.json"), cwd=elsewhere)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete: 1 done." in applied.stdout
    assert (tmp_path / "docs" / "costs.md").is_file()  # the project root of x (no repository): its parent


def test_a_checkout_of_the_repository_still_wins_over_the_place_the_plan_was_made(tmp_path: Path) -> None:
    """CI plans in one checkout and applies in another: the state read is the current checkout's,
    even while the first one still exists (here it differs, so the plan is stale: nothing applied)."""
    planned_in = git_repository(tmp_path / "plan-checkout")
    (planned_in / "desired_state").mkdir()
    (planned_in / "desired_state" / "state.yaml").write_text(STATE)
    applied_in = git_repository(tmp_path / "apply-checkout")
    (applied_in / "desired_state").mkdir()
    (applied_in / "desired_state" / "state.yaml").write_text(STATE.replace("costs.md", "other.md"))
    planned = run_reconcile("plan", "desired_state", "--out", str(tmp_path / "plan.json"), cwd=planned_in)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    applied = run_reconcile("apply", str(tmp_path / "plan.json"), cwd=applied_in / "desired_state")
    assert applied.returncode == 1 and "stale" in applied.stdout + applied.stderr, applied.stdout + applied.stderr
    assert not (planned_in / "docs").exists() and not (applied_in / "docs").exists()
