"""apply.yml's docs path, its own `run:` scripts run by bash as the runner runs them, on real git
repositories: the apply job keeps only what changed under docs/ (where cost docs live), and the docs
job commits only that, whatever else the apply job's tree holds (issue 23: a merged
`cost_docs: [{path: .github/CODEOWNERS}]` would have been committed to main)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
APPLY = REPO / ".github" / "workflows" / "apply.yml"


def script(job: str, step: str) -> str:
    workflow: dict[str, Any] = YAML(typ="safe").load(APPLY.read_text())
    [found] = [s["run"] for s in workflow["jobs"][job]["steps"] if s.get("name") == step]
    return str(found)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def run_step(text: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As GitHub's runner runs a `run:` step: bash --noprofile --norc -eo pipefail."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", text],
        cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_docs_job_commits_only_what_apply_rewrote_under_docs(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    for path, text in {
        "docs/costs.md": "# Costs\n$1\n",
        ".github/CODEOWNERS": "* @owners\n",
        "README.md": "readme\n",
        "desired_state/state.yaml": "cost_docs: [{path: docs/costs.md}]\n",
    }.items():
        (seed / path).parent.mkdir(parents=True, exist_ok=True)
        (seed / path).write_text(text)
    git(seed, "add", "-A")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed")
    git(seed, "push", "-q", "origin", "HEAD:main")

    applied = tmp_path / "apply-workspace"  # the apply job's checkout, after `reconcile apply`
    git(tmp_path, "clone", "-q", str(origin), str(applied))
    (applied / "docs" / "costs.md").write_text("# Costs\n$2\n")  # what apply rewrote
    (applied / "docs" / "team").mkdir()
    (applied / "docs" / "team" / "new.md").write_text("a new cost doc\n")
    (applied / ".github" / "CODEOWNERS").write_text("* @attacker\n")  # anything else in the tree
    (applied / "README.md").write_text("changed\n")
    (applied / "desired_state" / "state.yaml").write_text("changed\n")
    (applied / "out").mkdir()  # made by the apply step
    kept = run_step(script("apply", "Keep the cost docs it rewrote, as a patch for the docs job"), applied, {})
    assert kept.returncode == 0, kept.stderr
    patch = (applied / "out" / "docs.patch").read_text()
    assert "docs/costs.md" in patch and "docs/team/new.md" in patch
    assert "CODEOWNERS" not in patch and "README.md" not in patch and "desired_state" not in patch

    # A patch that names more than docs/ (however it was made): the docs job takes docs/ only.
    runner_temp = tmp_path / "runner-temp"
    (runner_temp / "applied").mkdir(parents=True)
    git(applied, "add", "-A")
    (runner_temp / "applied" / "docs.patch").write_text(git(applied, "diff", "--cached", "--binary"))
    main = tmp_path / "docs-workspace"
    git(tmp_path, "clone", "-q", str(origin), str(main))
    token = "canary-token"
    pushed = run_step(
        script("docs", "Commit and push it"),
        main,
        {
            "RUNNER_TEMP": str(runner_temp), "GH_TOKEN": token, "REPO": "owner/repo", "GITHUB_SHA": "0123456789abcdef",
            "GITHUB_REF_NAME": "main", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{origin}.insteadOf",
            "GIT_CONFIG_VALUE_0": f"https://x-access-token:{token}@github.com/owner/repo.git",
        },
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    changed = git(origin, "show", "--name-only", "--format=%s", "main").split()
    assert sorted(changed[changed.index("0123456789ab") + 1 :]) == ["docs/costs.md", "docs/team/new.md"]
    assert git(origin, "show", "main:.github/CODEOWNERS") == "* @owners\n"
