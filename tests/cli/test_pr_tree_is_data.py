"""Issue 23, item 3: the pull request's tree is data. `unpack-pr` refuses git metadata and
reconcile's records; plan runs no git on an unpacked tree and, on any repository, nothing its
`.git/config` names (a real `core.fsmonitor` hook that would write a canary) and writes no
`.git/index`; a record git tracks or a pull request carries is never read (a forged journal
leaves someone else's bucket a blocked create, not "recover … adopted"). Real git, moto's server."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.cli.conftest import Run
from tests.support.moto_server import MotoServer

SHA = "ab" * 20
STATE = "aws: {region: us-east-1}\ns3_buckets:\n  theirs-exports: {versioning: true}\n"
FORGED_JOURNAL = json.dumps(
    {"version": 1, "intents": {"s3_bucket.theirs-exports": {"action": "create", "at": "2026-01-01T00:00:00+00:00", "by": "x"}}}
)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def repository(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "add", "-f", ".")
    git(path, "commit", "-qm", "state")
    return path


def hostile_fsmonitor(repo: Path, canary: Path) -> None:
    """A `core.fsmonitor` command, as a pull request's `.git/config` would name it: writes the canary."""
    hook = repo / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho ran > {canary}\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))


def pr_artifact(path: Path, tree: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as packed:
        packed.writestr("pr-number", "7\n")
        packed.writestr("head-sha", SHA + "\n")
        packed.writestr("tree.tar", tree)
    return path


def archive_of(repo: Path) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "HEAD"], capture_output=True, check=True).stdout


def plan_git(repo: Path, reconcile: Run) -> dict[str, object]:
    done = reconcile("plan", "desired_state", "--format", "json", cwd=repo, env={"DOCKER_HOST": "unix:///nonexistent"})
    assert done.returncode == 0, done.stderr
    git_info: dict[str, object] = json.loads(done.stdout)["state"]["git"]
    return git_info


def test_the_hooks_of_a_hostile_git_config_never_run(tmp_path: Path, reconcile: Run) -> None:
    repo = repository(tmp_path / "repo", {"desired_state/state.yaml": "containers: {}\n"})
    canary = tmp_path / "canary"
    hostile_fsmonitor(repo, canary)
    assert plan_git(repo, reconcile)["dirty"] is False  # git still ran: the plan knows its commit
    assert not canary.exists(), "core.fsmonitor ran"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving .git to another user needs root")
def test_git_metadata_owned_by_someone_else_is_never_run(tmp_path: Path, reconcile: Run) -> None:
    repo = repository(tmp_path / "repo", {"desired_state/state.yaml": "containers: {}\n"})
    canary = tmp_path / "canary"
    hostile_fsmonitor(repo, canary)
    for path in [repo / ".git", *(repo / ".git").rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)
    done = reconcile("plan", "desired_state", "--format", "json", cwd=repo, env={"DOCKER_HOST": "unix:///nonexistent"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"]["git"] is None
    assert ".git is not yours: git is not run on it" in done.stderr
    assert not canary.exists()


def test_plan_does_not_write_the_git_index(tmp_path: Path, reconcile: Run) -> None:
    repo = repository(tmp_path / "repo", {"desired_state/state.yaml": "containers: {}\n"})
    state = repo / "desired_state" / "state.yaml"
    os.utime(state, (state.stat().st_atime - 100, state.stat().st_mtime - 100))  # stat info differs from the index's
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    assert plan_git(repo, reconcile)["dirty"] is False  # same content: not dirty
    assert hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest() == index
    state.write_text("containers: {web: {image: 'nginx:1'}}\n")
    assert plan_git(repo, reconcile)["dirty"] is True


def test_unpack_pr_refuses_git_metadata_and_reconciles_records(tmp_path: Path, reconcile: Run) -> None:
    for member, why in [
        (".git/config", ".git is git metadata"),
        ("desired_state/sub/.git/hooks/post-checkout", ".git is git metadata"),
        ("desired_state/.reconcile.journal.json", ".reconcile.journal.json is one of reconcile's own records"),
        ("desired_state/.reconcile.adopted.json", "one of reconcile's own records"),
        (".reconcile.pull-request", "one of reconcile's own records"),
    ]:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tree:
            info = tarfile.TarInfo(member)
            info.size = 2
            tree.addfile(info, io.BytesIO(b"{}"))
        zipped = pr_artifact(tmp_path / "pr.zip", buffer.getvalue())
        destination = tmp_path / "pr" / member.replace("/", "_")
        done = reconcile("unpack-pr", str(zipped), str(destination))
        assert done.returncode == 1, member
        assert why in done.stderr, done.stderr
        written = destination / member
        assert not written.exists() or written.read_bytes() != b"{}"  # the marker is unpack-pr's own


def test_plan_runs_no_git_on_an_unpacked_tree(tmp_path: Path, reconcile: Run) -> None:
    """Even a `.git` that got into the unpacked tree some other way is never run."""
    source = repository(tmp_path / "source", {"desired_state/state.yaml": "containers: {}\n"})
    unpacked = tmp_path / "pr"
    assert reconcile("unpack-pr", str(pr_artifact(tmp_path / "pr.zip", archive_of(source))), str(unpacked)).returncode == 0
    subprocess.run(["git", "init", "-q", str(unpacked)], check=True)
    git(unpacked, "add", ".")
    git(unpacked, "commit", "-qm", "x")
    canary = tmp_path / "canary"
    hostile_fsmonitor(unpacked, canary)
    done = reconcile(
        "plan", str(unpacked / "desired_state"), "--format", "json", "--out", str(tmp_path / "plan.json"),
        env={"DOCKER_HOST": "unix:///nonexistent"}, cwd=source,  # the base branch's checkout, as in CI
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["state"]["git"] is None and plan["state"]["dir"] == "desired_state"
    assert not canary.exists()


def their_bucket() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="theirs-exports")  # someone else's, untagged


def bucket_action(plan_json: str) -> dict[str, object]:
    return next(a for a in json.loads(plan_json)["actions"] if a["address"] == "s3_bucket.theirs-exports")


@pytest.mark.aws
def test_a_forged_journal_committed_to_the_repository_does_nothing(aws: MotoServer, tmp_path: Path, reconcile: Run) -> None:
    their_bucket()
    repo = repository(
        tmp_path / "repo",
        {"desired_state/state.yaml": STATE, "desired_state/.reconcile.journal.json": FORGED_JOURNAL},
    )
    done = reconcile("plan", "desired_state", "--format", "json", cwd=repo)
    assert done.returncode == 0, done.stderr
    action = bucket_action(done.stdout)
    assert action["action"] == "create" and action["blocked"] is not None, action
    assert not any("recover" in reason for reason in action["reasons"])  # type: ignore[attr-defined]
    applied = reconcile("apply", "desired_state", "--auto-approve", cwd=repo)
    assert applied.returncode == 1
    with pytest.raises(ClientError, match="NoSuchTagSet"):  # never tagged as ours: not adopted
        boto3.client("s3", region_name="us-east-1").get_bucket_tagging(Bucket="theirs-exports")


@pytest.mark.aws
def test_a_forged_record_in_an_unpacked_tree_is_never_read(aws: MotoServer, tmp_path: Path, reconcile: Run) -> None:
    their_bucket()
    source = repository(tmp_path / "source", {"desired_state/state.yaml": STATE})
    unpacked = tmp_path / "pr"
    assert reconcile("unpack-pr", str(pr_artifact(tmp_path / "pr.zip", archive_of(source))), str(unpacked)).returncode == 0
    (unpacked / "desired_state" / ".reconcile.journal.json").write_text(FORGED_JOURNAL)  # not through unpack-pr: it refuses
    done = reconcile("plan", str(unpacked / "desired_state"), "--format", "json", cwd=source)
    action = bucket_action(done.stdout)
    assert action["action"] == "create" and action["blocked"] is not None, action


ATTACKER = "s3://attacker-state/x"


def base_and_pull_request(tmp_path: Path, reconcile: Run, pr_settings: str) -> tuple[Path, Path]:
    """The base branch's checkout (records in s3://ops-state/team-a) and a pull request's tree, unpacked."""
    settings = "settings: {backend: 's3://ops-state/team-a'}\n"
    base = repository(tmp_path / "base", {"desired_state/state.yaml": settings + STATE})
    source = repository(tmp_path / "source", {"desired_state/state.yaml": pr_settings + STATE})
    unpacked = tmp_path / "pr"
    assert reconcile("unpack-pr", str(pr_artifact(tmp_path / "pr.zip", archive_of(source))), str(unpacked)).returncode == 0
    return base, unpacked


@pytest.mark.aws
def test_a_pull_request_that_moves_the_backend_is_a_change_of_trust_and_its_records_are_not_read(
    aws: MotoServer, tmp_path: Path, reconcile: Run
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("ops-state", "attacker-state"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="attacker-state", Key="x/journal.json", Body=FORGED_JOURNAL.encode())
    their_bucket()
    base, unpacked = base_and_pull_request(tmp_path, reconcile, f"settings: {{backend: '{ATTACKER}'}}\n")
    done = reconcile("plan", str(unpacked / "desired_state"), "--format", "json", cwd=base)
    assert done.returncode == 1  # an error finding, and settings.policy_mode is enforce
    plan = json.loads(done.stdout)
    finding = next(f for f in plan["findings"] if f["address"] == "settings.backend")
    assert finding["severity"] == "error" and finding["code"] == "backend-changed"
    assert f"settings.backend changes from s3://ops-state/team-a to {ATTACKER}" in finding["message"]
    action = bucket_action(done.stdout)
    assert action["action"] == "create" and action["blocked"] is not None, action  # the forged journal was not read
    comment = reconcile("plan", str(unpacked / "desired_state"), "--comment", "comment.md", cwd=base)
    assert "a change of trust" in (base / "comment.md").read_text()
    assert comment.returncode == 1


@pytest.mark.aws
def test_a_pull_request_on_the_bases_backend_reads_its_records_there(aws: MotoServer, tmp_path: Path, reconcile: Run) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="ops-state")
    s3.put_object(Bucket="ops-state", Key="team-a/journal.json", Body=FORGED_JOURNAL.encode())  # a real one, here
    their_bucket()  # made by an apply killed before it tagged it
    base, unpacked = base_and_pull_request(tmp_path, reconcile, "settings: {backend: 's3://ops-state/team-a'}\n")
    done = reconcile("plan", str(unpacked / "desired_state"), "--format", "json", cwd=base)
    assert done.returncode == 0, done.stderr
    assert not [f for f in json.loads(done.stdout)["findings"] if f["address"] == "settings.backend"]
    assert bucket_action(done.stdout)["reasons"][0].startswith("recover: theirs-exports was created by an apply killed")  # type: ignore[index]
