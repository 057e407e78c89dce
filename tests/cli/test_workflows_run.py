"""The pull-request flow run for real: .github/workflows/ as GitHub runs them (pull-request.yml →
plan.yml → the comment → merge → apply.yml → docs), with act as the runner (jobs on this machine
under the runner's `bash -e`, each action at its pinned commit), a local engine, moto, and a
stand-in for GitHub's REST API that records the comments and statuses a reviewer sees.
See tests/support/workflow_runner.py for what stands in for what, and what must be on the machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import docker
import pytest

from reconciler.render.markdown import MARKER_COMMENT
from tests.support.docker_engine import TEST_IMAGE
from tests.support.github_api import GitHubModel, PullRequest, running_github_api
from tests.support.moto_server import MotoServer
from tests.support.workflow_runner import (
    REPO,
    Run,
    Runner,
    actions_source,
    git,
    running_token_endpoint,
    tool_cache,
    tools,
    wheelhouse,
)

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.aws]

REPOSITORY = "acme/infra"
TOKEN = "ghs_runtoken-canary-1f4e"
BUCKET = "act-e2e-exports"
CONTAINER = "act-e2e-web"

SETTINGS = """\
version: 1
settings:
  name: act-e2e
  policy_mode: enforce
aws: {region: us-east-1}
"""

HOST = """\
hosts:
  local:
    docker: {docker_host}
"""

CHANGES = f"""\
containers:
  {CONTAINER}:
    host: local
    image: {TEST_IMAGE}
    command: ["sleep", "3600"]
    init: true
    restart: unless-stopped
    healthcheck:
      test: ["CMD-SHELL", "test -d /proc/1 || exit 1"]
      interval: 10s
    logging: {{driver: json-file, options: {{max-size: 10m, max-file: "3"}}}}
s3_buckets:
  {BUCKET}:
    versioning: true
cost_docs:
  - path: docs/costs.md
"""


@dataclass
class World:
    """A GitHub repository as the workflows see it: origin (bare), its pull requests, the runner."""

    root: Path
    origin: Path
    github: GitHubModel
    runner: Runner
    docker_host: str
    moto: MotoServer

    def _clone(self, name: str, commit: str) -> Path:
        """A working copy at `commit` (a local clone holds every object of origin, the pull requests'
        too), its origin named as act reads the repository's name from it."""
        workdir = self.root / name
        subprocess.run(["git", "clone", "-q", str(self.origin), str(workdir)], check=True)
        git(workdir, "checkout", "-q", "--detach", commit)
        git(workdir, "remote", "set-url", "origin", f"https://github.com/{REPOSITORY}.git")
        return workdir

    def main(self) -> str:
        return git(self.origin, "rev-parse", "main")

    def _commit_on_main(self, name: str, files: dict[str, str], message: str, ref: str) -> str:
        """A commit of `files` on main's head, pushed to `ref` of origin; its sha."""
        work = self._clone(name, self.main())
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        git(work, "add", "--all")
        git(work, "commit", "-qm", message)
        git(work, "push", "-q", str(self.origin), f"HEAD:{ref}")
        return git(work, "rev-parse", "HEAD")

    def commit_to_main(self, files: dict[str, str], message: str) -> str:
        return self._commit_on_main(f"edit-{len(list(self.root.glob('edit-*')))}", files, message, "refs/heads/main")

    def open_pull_request(self, number: int, files: dict[str, str]) -> PullRequest:
        head = self._commit_on_main(f"pr-{number}", files, f"pull request {number}", f"refs/pull/{number}/head")
        self.github.pulls[number] = PullRequest(number, head)
        return self.github.pulls[number]

    def _event_repository(self) -> dict[str, object]:
        owner, name = REPOSITORY.split("/")
        return {"full_name": REPOSITORY, "name": name, "owner": {"login": owner}, "default_branch": "main"}

    def pull_request_workflows(self, number: int) -> tuple[Run, Run]:
        """pull-request.yml on the pull request's merge commit, then plan.yml on main for that run."""
        pull = self.github.pulls[number]
        base = self.main()
        work = self._clone(f"merge-{number}-{base[:7]}", base)
        git(work, "merge", "-q", "--no-ff", "-m", f"Merge {pull.head_sha} into {base}", pull.head_sha)
        merge = git(work, "rev-parse", "HEAD")
        git(work, "push", "-q", str(self.origin), f"HEAD:refs/pull/{number}/merge")
        event = {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"sha": pull.head_sha, "ref": f"pr-{number}", "repo": {"full_name": REPOSITORY}},
                "base": {"sha": base, "ref": "main", "repo": {"full_name": REPOSITORY}},
                "merge_commit_sha": merge,
            },
            "repository": self._event_repository(),
        }
        pack_run, pack = self.runner.run(work, "pull-request.yml", "pull_request", event)
        plan_work = self._clone(f"plan-{number}-{pack_run}", base)
        event = {
            "action": "completed",
            "workflow_run": {
                "id": pack_run,
                "event": "pull_request",
                "conclusion": "success" if pack.returncode == 0 else "failure",
                "head_sha": pull.head_sha,
                "head_branch": f"pr-{number}",
                "head_repository": {"full_name": REPOSITORY},
            },
            "repository": self._event_repository(),
        }
        _, plan = self.runner.run(plan_work, "plan.yml", "workflow_run", event)
        return pack, plan

    def merge(self, number: int) -> Run:
        """Merges the pull request into main (a merge commit, as GitHub does) and runs apply.yml."""
        pull = self.github.pulls[number]
        work = self._clone(f"merged-{number}", self.main())
        git(work, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", pull.head_sha)
        git(work, "push", "-q", str(self.origin), "HEAD:refs/heads/main")
        merged = self.main()
        self.github.merge(number, merged)
        apply_work = self._clone(f"apply-{number}", merged)
        event = {"ref": "refs/heads/main", "after": merged, "deleted": False, "repository": self._event_repository()}
        return self.runner.run(apply_work, "apply.yml", "push", event)[1]

    def comment(self, number: int) -> str:
        comments = self.github.comments_on(number)
        assert len(comments) == 1, f"{len(comments)} comments on #{number}: {[c.body[:200] for c in comments]}"
        return comments[0].body

    def plan_artifact(self, number: int) -> list[Path]:
        return sorted(self.runner.artifacts.glob(f"*/reconcile-plan-pr{number}-*/*.zip"))


@pytest.fixture(scope="module")
def outfit(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], dict[str, Path], Path]:
    found_tools, why = tools()
    if not found_tools:
        pytest.skip(why)
    scratch = tmp_path_factory.mktemp("actions")
    actions, why = actions_source(scratch)
    if not actions:
        pytest.skip(why)
    return found_tools, actions, wheelhouse()


@pytest.fixture
def world(
    outfit: tuple[dict[str, Path], dict[str, Path], Path],
    docker_client: docker.DockerClient,
    docker_host: str,
    cleanup_containers: None,
    aws: MotoServer,
    tmp_path: Path,
) -> Iterator[World]:
    found_tools, actions, wheels = outfit
    # Short paths: the workflows put an ssh-agent socket under RUNNER_TEMP (at most 107 bytes).
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="act-")))
        origin = root / "origin.git"
        seed = root / "seed"
        _seed_repository(seed, docker_host)
        subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(origin)], check=True)
        github = GitHubModel(REPOSITORY, root / "artifacts")
        api = stack.enter_context(running_github_api(github))
        token_url = stack.enter_context(running_token_endpoint())
        home = root / "home"
        (home / ".aws").mkdir(parents=True)
        # The AWS SDKs' own setting for an endpoint: reconcile (boto3) and configure-aws-credentials
        # (the JS SDK) both reach moto through it, with or without the job's environment.
        (home / ".aws" / "config").write_text(f"[default]\nendpoint_url = {aws.url}\n")
        cache = root / "c"
        tool_cache(cache / "tool_cache")
        env = {
            "GITHUB_API_URL": api,
            "ACTIONS_ID_TOKEN_REQUEST_URL": token_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-canary",
            "AWS_ENDPOINT_URL_STS": aws.url,
            "PIP_NO_INDEX": "1",
            "PIP_NO_COMPILE": "1",  # bytecode is written on first import; compiling botocore up front takes long
            "PIP_FIND_LINKS": str(wheels),
            "HOME": str(home),
            # actions/checkout's fetch and the docs job's push reach the test's origin, not github.com.
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": f"url.file://{root}/remote/.insteadOf",
            "GIT_CONFIG_VALUE_0": "https://github.com/",
            "GIT_CONFIG_KEY_1": f"url.file://{root}/remote/.insteadOf",
            "GIT_CONFIG_VALUE_1": f"https://x-access-token:{TOKEN}@github.com/",
        }
        (root / "remote" / REPOSITORY.split("/")[0]).mkdir(parents=True)
        (root / "remote" / f"{REPOSITORY}.git").symlink_to(origin)
        (root / "remote" / REPOSITORY).symlink_to(origin)
        key = root / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        secrets = {
            "GITHUB_TOKEN": TOKEN,
            "RECONCILE_PLAN_ROLE_ARN": "arn:aws:iam::123456789012:role/reconcile-plan",
            "RECONCILE_APPLY_ROLE_ARN": "arn:aws:iam::123456789012:role/reconcile-apply",
            "RECONCILE_PLAN_SSH_KEY": key.read_text(),
            "RECONCILE_SSH_KEY": key.read_text(),
            "RECONCILE_SSH_KNOWN_HOSTS": "vps.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyCanary",
            "REDIS_PASSWORD": "redis-password-canary",
        }
        runner = Runner(found_tools, actions, cache, root / "artifacts", home, env, secrets, tmp_path, api)
        world = World(root, origin, github, runner, docker_host, aws)
        yield world
        for pid in _agents_left(world):  # a test that failed on it must not leave it running
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)


def _seed_repository(seed: Path, docker_host: str) -> None:
    """main: this checkout's files as they are (the workflows and reconcile under test), with a
    small desired state of its own that has nothing to change yet."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if name.startswith(("desired_state/", "docs/")) or not source.is_file():
            continue
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_bytes(source.read_bytes())
        (seed / name).chmod(source.stat().st_mode)
    (seed / "desired_state").mkdir()
    (seed / "desired_state" / "settings.yaml").write_text(SETTINGS)
    (seed / "desired_state" / "hosts.yaml").write_text(HOST.format(docker_host=docker_host))
    (seed / "docs").mkdir()
    (seed / "docs" / "README.md").write_text("# Docs\n")
    git(seed, "init", "-q")
    git(seed, "add", "--all")
    git(seed, "commit", "-qm", "main")


def _agents_left(world: World) -> list[str]:
    """ssh-agent processes a run started (their socket is under the run's RUNNER_TEMP) and left
    running, with the job's SSH key loaded."""
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = cmdline.read_bytes().split(b"\0")
            if words and words[0].endswith(b"ssh-agent") and str(world.root).encode() in b" ".join(words):
                left.append(cmdline.parent.name)
    return left


def _managed(client: docker.DockerClient) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": "reconciler.managed=true"})]


def _buckets(moto: MotoServer) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    return [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


def _apply_report(world: World) -> str:
    """The apply report the apply job kept (out/apply-report.txt in its reconcile-comment artifact)."""
    kept = sorted(world.runner.artifacts.glob("*/reconcile-comment/reconcile-comment.zip"), key=lambda p: int(p.parts[-3]))
    with zipfile.ZipFile(kept[-1]) as packed:
        return packed.read("apply-report.txt").decode() if "apply-report.txt" in packed.namelist() else ""


def test_a_pull_request_with_changes_is_planned_commented_and_applied_as_reviewed_on_merge(
    world: World, docker_client: docker.DockerClient
) -> None:
    pull = world.open_pull_request(1, {"desired_state/services.yaml": CHANGES})
    pack, plan = world.pull_request_workflows(1)
    assert pack.returncode == 0, pack.log[-3000:]
    assert plan.returncode == 0, plan.log[-6000:]
    # The reviewed plan is kept (the exit code 2 of --detailed-exitcode is a plan with changes).
    assert [p.parent.name for p in world.plan_artifact(1)] == [f"reconcile-plan-pr1-{pull.head_sha}"], plan.log[-6000:]
    body = world.comment(1)
    assert body.startswith(MARKER_COMMENT) and "## reconcile plan" in body
    assert f"+ s3_bucket.{BUCKET}" in body and CONTAINER in body
    planned = re.search(r"Plan: (\d+) to add, 0 to change, 0 to replace, 0 to destroy", body)
    assert planned, body
    assert [(s["sha"], s["state"]) for s in world.github.statuses] == [(pull.head_sha, "success")]
    assert _managed(docker_client) == [] and BUCKET not in _buckets(world.moto)  # plan changed nothing
    assert _agents_left(world) == []

    apply = world.merge(1)
    assert apply.returncode == 0, apply.log[-6000:]
    assert f"reconcile-plan-pr1-{pull.head_sha}" in apply.log  # the reviewed plan, not a new one
    assert _managed(docker_client) == [CONTAINER]
    assert BUCKET in _buckets(world.moto)
    body = world.comment(1)  # still exactly one comment: the plan's, now the apply report
    assert body.startswith(MARKER_COMMENT) and f"**Apply complete: {planned[1]} done.**" in body, body
    assert f"Apply complete: {planned[1]} done." in _apply_report(world)
    assert git(world.origin, "log", "-1", "--format=%s", "main").startswith("docs: costs as applied at")
    assert BUCKET in git(world.origin, "show", "main:docs/costs.md")
    assert world.github.unexpected == []
    assert _agents_left(world) == []


def test_a_pull_request_without_changes_says_so_and_keeps_its_plan(world: World) -> None:
    pull = world.open_pull_request(2, {"docs/notes.md": "# Notes\n\nNothing to change.\n"})
    pack, plan = world.pull_request_workflows(2)
    assert pack.returncode == 0 and plan.returncode == 0, plan.log[-6000:]
    assert [p.parent.name for p in world.plan_artifact(2)] == [f"reconcile-plan-pr2-{pull.head_sha}"]
    assert "**No changes.**" in world.comment(2)
    assert [(s["sha"], s["state"]) for s in world.github.statuses] == [(pull.head_sha, "success")]
    assert _agents_left(world) == []


def test_an_invalid_pull_request_is_commented_with_located_errors_and_fails_its_status(world: World) -> None:
    broken = CHANGES.replace("    healthcheck:", "    helthcheck:")
    pull = world.open_pull_request(3, {"desired_state/services.yaml": broken})
    pack, plan = world.pull_request_workflows(3)
    assert pack.returncode == 0
    assert plan.returncode != 0  # the plan job fails: the pull request's check is red
    assert world.plan_artifact(3) == []  # nothing to apply on merge
    body = world.comment(3)
    assert "## reconcile: the desired state is invalid" in body
    assert re.search(r"desired_state/services\.yaml:\d+:5: containers\.act-e2e-web\.helthcheck: unknown key", body), body
    assert [(s["sha"], s["state"]) for s in world.github.statuses] == [(pull.head_sha, "failure")]
    assert _agents_left(world) == []


def test_a_plan_gone_stale_at_merge_applies_nothing_and_says_why_on_the_pull_request(
    world: World, docker_client: docker.DockerClient
) -> None:
    world.open_pull_request(4, {"desired_state/services.yaml": CHANGES})
    _, plan = world.pull_request_workflows(4)
    assert plan.returncode == 0 and world.plan_artifact(4), plan.log[-6000:]
    # Another change lands on main after the review: the merged state is not the one planned.
    world.commit_to_main({"desired_state/more.yaml": "s3_buckets:\n  act-e2e-other: {versioning: true}\n"}, "more")

    apply = world.merge(4)
    assert apply.returncode != 0
    assert _managed(docker_client) == [] and _buckets(world.moto) == []  # nothing applied
    body = world.comment(4)  # the one comment, updated: the reason and the fresh plan to review
    assert "the reviewed plan is stale" in body and "the desired state changed since the plan was made" in body
    assert "+ s3_bucket.act-e2e-other" in body
    assert world.github.unexpected == []
    assert _agents_left(world) == []
