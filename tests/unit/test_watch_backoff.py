"""The watcher's backoff and its refusal to apply anything but the commit last applied (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.apply.applied import RECORD, record_applied, refusal
from reconciler.clients.backend import DirectoryBackend
from reconciler.clients.records import Record
from reconciler.gitinfo import no_commit_reason
from reconciler.plan.schema import GitInfo
from reconciler.watch.backoff import Backoff

NOT_USED = "(why there is no commit: only asked when there is none)"


def test_a_failing_step_waits_twice_as_long_each_time_up_to_a_ceiling_and_success_forgets() -> None:
    backoff = Backoff(interval=10)
    assert [backoff.failed("container.web", now=0) for _ in range(3)] == [20, 40, 80]
    assert backoff.waiting("container.web", now=50) == 30
    assert all(backoff.failed("container.web", now=0) <= 640 for _ in range(20))
    backoff.succeeded("container.web")
    assert backoff.waiting("container.web", now=0) == 0


def test_only_the_clean_commit_last_applied_may_be_healed(tmp_path: Path) -> None:
    applied = GitInfo(commit="a" * 40, dirty=False)
    record = Record(DirectoryBackend(tmp_path), RECORD)
    assert "no apply is recorded" in (refusal(record, applied, NOT_USED) or "")
    record_applied(record, GitInfo(commit="a" * 40, dirty=True), datetime.now(UTC))  # a dirty tree is no commit
    assert "no apply is recorded" in (refusal(record, applied, NOT_USED) or "")
    record_applied(record, applied, datetime.now(UTC))
    assert refusal(record, applied, NOT_USED) is None
    assert "not the one last applied" in (refusal(record, GitInfo(commit="b" * 40, dirty=False), NOT_USED) or "")
    assert "uncommitted changes" in (refusal(record, GitInfo(commit="a" * 40, dirty=True), NOT_USED) or "")
    assert "not in a git repository" in (refusal(record, None, no_commit_reason(tmp_path)) or "")


def test_without_a_git_binary_the_refusal_says_so_not_that_there_is_no_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("GIT_PYTHON_GIT_EXECUTABLE", raising=False)
    record = Record(DirectoryBackend(tmp_path), RECORD)

    refused = refusal(record, None, no_commit_reason(tmp_path)) or ""

    assert "no `git` binary on PATH" in refused and "not in a git repository" not in refused
