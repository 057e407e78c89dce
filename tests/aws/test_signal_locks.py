"""SIGTERM and SIGINT while a command plans (RECONCILE_TEST_SIGNAL_AT=planner.observed, as if the
signal came from outside at that instant): the command ends at once, changes nothing, says so, and
leaves no lock behind, neither the S3 lock of settings.backend (on moto's server) nor the file lock."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler.clients.aws import ClientError
from tests.support.cli import run_reconcile
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

BACKEND = "s3://ops-state/team-a"


def state_with_buckets(tmp_path: Path, backend: str | None) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    settings = f"settings: {{backend: '{backend}'}}\n" if backend else ""
    (state / "state.yaml").write_text(
        settings
        + textwrap.dedent("""\
            aws: {region: us-east-1}
            s3_buckets:
              exports-a: {versioning: true, protect: false, tags: {team: a}}
            """)
    )


def signalled(tmp_path: Path, sig: str, *args: str, at: str = "planner.observed") -> Any:
    return run_reconcile(*args, cwd=tmp_path, env={"RECONCILE_TEST_SIGNAL_AT": at, "RECONCILE_TEST_SIGNAL": sig}, timeout=60)


def lock_object(state_s3: Any) -> Any:
    try:
        return state_s3.get_object(Bucket="ops-state", Key="team-a/lock")["Body"].read()
    except ClientError:
        return None


def user_buckets(state_s3: Any) -> set[str]:
    return {bucket["Name"] for bucket in state_s3.list_buckets()["Buckets"]} - {"ops-state"}


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_while_apply_plans_leaves_no_s3_lock(state_s3: Any, tmp_path: Path, sig: str) -> None:
    state_with_buckets(tmp_path, BACKEND)
    stopped = signalled(tmp_path, sig, "apply", "desired_state", "--auto-approve")
    assert stopped.returncode == 128 + signal.Signals[sig], stopped.stdout + stopped.stderr
    assert f"interrupted by {sig}: nothing was changed" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert lock_object(state_s3) is None
    assert user_buckets(state_s3) == set()
    again = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)  # no lock to wait for
    assert again.returncode == 0, again.stdout + again.stderr
    assert user_buckets(state_s3) == {"exports-a"}
    assert lock_object(state_s3) is None


@pytest.mark.parametrize("at", ["planner.observed", "lock.taken"])
def test_sigterm_while_apply_plans_or_takes_the_lock_leaves_no_file_lock(aws: MotoServer, tmp_path: Path, at: str) -> None:
    state_with_buckets(tmp_path, None)
    stopped = signalled(tmp_path, "SIGTERM", "apply", "desired_state", "--auto-approve", at=at)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stdout + stopped.stderr
    assert "interrupted by SIGTERM: nothing was changed" in stopped.stderr
    assert not (tmp_path / "desired_state" / ".reconcile.lock.info").exists()
    again = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_while_plan_runs_ends_it_and_says_so(state_s3: Any, tmp_path: Path, sig: str) -> None:
    state_with_buckets(tmp_path, BACKEND)
    stopped = signalled(tmp_path, sig, "plan", "desired_state")
    assert stopped.returncode == 128 + signal.Signals[sig], stopped.stdout + stopped.stderr
    assert f"interrupted by {sig}: nothing was changed" in stopped.stderr
    assert "Traceback" not in stopped.stderr and stopped.stdout == ""
    assert lock_object(state_s3) is None
