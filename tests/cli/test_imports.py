"""What each command loads: a command imports only what it uses (`--version` neither pydantic nor
rich, `validate` and `schema` no Docker SDK, paramiko, boto3 or GitPython, a plan without AWS
resources no boto3, a plan without ssh:// hosts no paramiko), and every command works without a
`git` binary."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from reconciler import __version__
from tests.support.docker_engine import TEST_IMAGE
from tests.support.sshd import free_port

HEAVY = ("docker", "paramiko", "boto3", "botocore", "git", "pydantic", "rich", "ruamel.yaml", "requests")
SSH_ONLY = ("paramiko", "invoke", "nacl", "docker.transport.sshconn")  # what the SDK's ssh:// transport would import

# Runs the console script's main() and reports, as it exits, which of HEAVY got imported.
REPORTING = f"""
import atexit, json, sys
atexit.register(lambda: print("LOADED " + json.dumps([m for m in {HEAVY + SSH_ONLY!r} if m in sys.modules]), file=sys.stderr))
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


def run(
    *args: str, cwd: Path, path: str | None = None, docker_host: str | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {"PATH": path if path is not None else "/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1"}
    if docker_host is not None:
        env["DOCKER_HOST"] = docker_host
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
    assert set(loaded) & set(SSH_ONLY) == set()


@pytest.mark.docker
def test_a_plan_against_the_local_engine_imports_no_paramiko(tmp_path: Path, docker_client: object, docker_host: str) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "a.yaml").write_text(f"containers:\n  imports-{uuid.uuid4().hex[:8]}: {{image: {TEST_IMAGE}}}\n")
    done, loaded = run("plan", str(directory), "--detailed-exitcode", cwd=tmp_path, docker_host=docker_host)
    assert done.returncode == 2, done.stderr + done.stdout  # the container is to be created: the engine was read
    assert "2 to add" in done.stdout  # the container and the default network it joins, as in compose
    assert "docker" in loaded
    assert set(loaded) & set(SSH_ONLY) == set()


@pytest.mark.parametrize("where", ["state", "DOCKER_HOST"])
def test_an_ssh_host_imports_paramiko_when_it_connects_and_its_errors_are_explained(where: str, tmp_path: Path) -> None:
    """The SDK was imported without paramiko; an ssh:// host (here one where nothing listens) still
    connects with it, and paramiko's error is a blocked host in words, not a traceback."""
    url = f"ssh://root@127.0.0.1:{free_port()}"
    directory = tmp_path / "state"
    directory.mkdir()
    host = f"hosts:\n  vps: {{docker: '{url}'}}\n" if where == "state" else ""
    on = "{host: vps, image: 'app:1'}" if where == "state" else "{image: 'app:1'}"
    (directory / "a.yaml").write_text(f"{host}containers:\n  web: {on}\n")
    done, loaded = run("plan", str(directory), cwd=tmp_path, docker_host=url if where == "DOCKER_HOST" else None)
    assert done.returncode == 0, done.stderr
    assert "cannot reach the Docker engine at " in done.stdout and ": connection refused" in done.stdout
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert {"docker", "paramiko", "docker.transport.sshconn"} <= set(loaded)


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
