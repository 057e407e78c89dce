"""What each command loads: a command imports only what it uses (`--version` neither pydantic nor
rich, `validate` and `schema` no Docker SDK, paramiko, boto3 or GitPython, a plan without AWS
resources no boto3), and every command works without a `git` binary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import __version__

HEAVY = ("docker", "paramiko", "boto3", "botocore", "git", "pydantic", "rich", "ruamel.yaml", "requests")

# Runs the console script's main() and reports, as it exits, which of HEAVY got imported.
REPORTING = f"""
import atexit, json, sys
atexit.register(lambda: print("LOADED " + json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr))
from reconciler.cli import main
sys.argv[0] = "reconcile"
main()
"""

UNREACHABLE_HOST_STATE = """\
hosts:
  box: {docker: "unix:///nonexistent/reconcile-test.sock"}
containers:
  web: {host: box, image: "app:1"}
"""


def run(*args: str, cwd: Path, path: str | None = None) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {"PATH": path if path is not None else "/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", REPORTING, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("LOADED "), done.stderr
    return done, json.loads(last.removeprefix("LOADED "))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "a.yaml").write_text(UNREACHABLE_HOST_STATE)
    return directory


def test_version_imports_no_library_beyond_the_command_line(tmp_path: Path) -> None:
    done, loaded = run("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == f"reconcile {__version__}\n"
    assert loaded == []


@pytest.mark.parametrize("command", ["validate", "schema"])
def test_validate_and_schema_import_no_client_library(command: str, state: Path) -> None:
    done, loaded = run(*([command, str(state)] if command == "validate" else [command]), cwd=state.parent)
    assert done.returncode == 0, done.stderr
    assert set(loaded) & {"docker", "paramiko", "boto3", "botocore", "git", "requests"} == set()


def test_a_plan_without_aws_resources_imports_no_boto3_and_outside_git_no_gitpython(state: Path) -> None:
    done, loaded = run("plan", str(state), cwd=state.parent)
    assert done.returncode == 0, done.stderr
    assert "cannot reach the Docker engine" in done.stdout  # the host is blocked; the plan is made
    assert "docker" in loaded
    assert "boto3" not in loaded and "git" not in loaded


def test_without_git_every_command_works_and_a_plan_says_so_in_one_line(state: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    no_git = tmp_path / "bin"  # a PATH without git (python is run by its absolute path)
    no_git.mkdir()
    version, _ = run("--version", cwd=tmp_path, path=str(no_git))
    assert version.returncode == 0, version.stderr
    validate, _ = run("validate", str(state), cwd=tmp_path, path=str(no_git))
    assert validate.returncode == 0, validate.stderr
    plan, loaded = run("plan", str(state), "--format", "json", cwd=tmp_path, path=str(no_git))
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["state"]["git"] is None
    said = [line for line in plan.stderr.splitlines() if "git" in line and not line.startswith("LOADED")]
    assert said == ["warning: no `git` binary on PATH: the plan's state.git (commit, branch, dirty) is left out"]
    assert "Traceback" not in plan.stderr and "git" not in loaded
