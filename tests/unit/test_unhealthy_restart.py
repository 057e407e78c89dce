"""on_unhealthy: restart, pure: an unhealthy container under restart becomes an update with the reason;
past the flap budget (restarts by reconcile in the last hour) the restart is blocked, with the count and
the health log's last output. And the ledger that carries the count from one run to the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.clients.backend import FILE_NAMES, DirectoryBackend
from reconciler.clients.records import DamagedRecord, Record
from reconciler.clients.restart_ledger import RECORD, RestartLedger
from reconciler.kinds.container.kind import observation
from reconciler.model.spec import Container
from reconciler.plan.schema import Action
from tests.unit.test_container_diff import IMAGE, KIND, record, spec

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def unhealthy(r: dict[str, Any]) -> None:
    r["State"]["Health"] = {
        "Status": "unhealthy",
        "FailingStreak": 4,
        "Log": [{"ExitCode": 1, "Output": "wget: not found\n"}],
    }


def diff(desired: Container, restarts: tuple[datetime, ...] = (), edit: Any = unhealthy) -> Action:
    seen = observation("local", record(edit), IMAGE, IMAGE, "json-file", {}, restarts)
    return KIND.diff("fixture", desired, seen)


def test_an_unhealthy_container_under_report_is_left_alone() -> None:
    assert diff(spec()).action == "noop"


def test_an_unhealthy_container_under_restart_is_an_update_with_the_reason() -> None:
    action = diff(spec(on_unhealthy="restart"))
    assert action.action == "update"
    assert action.blocked is None
    assert action.reasons == ["unhealthy: restart (4 failing checks in a row; last output: wget: not found)"]
    assert [(c.path, c.before, c.after) for c in action.changes] == [("health", "unhealthy", "restart")]


def test_a_healthy_container_under_restart_is_a_noop() -> None:
    def healthy(r: dict[str, Any]) -> None:
        r["State"]["Health"] = {"Status": "healthy", "FailingStreak": 0, "Log": []}

    assert diff(spec(on_unhealthy="restart"), edit=healthy).action == "noop"


def test_restarts_within_the_budget_go_ahead() -> None:
    two = (NOW - timedelta(minutes=50), NOW - timedelta(minutes=10))
    assert diff(spec(on_unhealthy="restart"), two).blocked is None


def test_past_the_budget_the_restart_is_blocked_with_the_count_and_the_last_output() -> None:
    three = (NOW - timedelta(minutes=50), NOW - timedelta(minutes=30), NOW - timedelta(minutes=10))
    action = diff(spec(on_unhealthy="restart"), three)
    assert action.action == "update"
    assert action.blocked is not None
    assert "restarted 3 times in the last hour already (budget: 3 an hour)" in action.blocked.reason
    assert "last health output: wget: not found" in action.blocked.reason
    assert "docker logs reconciler-fixture" in action.blocked.remedy
    assert "the budget frees at 10:10 UTC" in action.blocked.remedy  # an hour after the oldest of the three


def test_the_budget_is_settable_per_container() -> None:
    once = (NOW - timedelta(minutes=5),)
    assert diff(spec(on_unhealthy="restart", unhealthy_restarts_per_hour=1), once).blocked is not None
    assert diff(spec(on_unhealthy="restart", unhealthy_restarts_per_hour=5), once).blocked is None


def test_a_replace_does_not_add_a_restart_the_new_container_makes_it_moot() -> None:
    action = diff(spec(on_unhealthy="restart", image="reconciler-test/other:1"))
    assert action.action == "replace"
    assert all(c.path != "health" for c in action.changes)


def test_an_in_place_change_and_the_restart_go_together() -> None:
    action = diff(spec(on_unhealthy="restart", mem_limit="128MB"))
    assert action.action == "update"
    assert {c.path for c in action.changes} == {"mem_limit", "health"}
    assert action.reasons == ["mem_limit changed", "unhealthy: restart (4 failing checks in a row; last output: wget: not found)"]


def ledger_in(state_dir: Path) -> RestartLedger:
    return RestartLedger(Record(DirectoryBackend(state_dir), RECORD))


def test_the_ledger_remembers_restarts_within_the_hour_per_container(tmp_path: Path) -> None:
    ledger = ledger_in(tmp_path)
    ledger.record("vps", "abc", NOW - timedelta(minutes=70))
    ledger.record("vps", "abc", NOW - timedelta(minutes=20))
    ledger.record("vps", "other", NOW - timedelta(minutes=5))
    again = ledger_in(tmp_path)  # the next run
    assert again.recent("vps", "abc", NOW) == (NOW - timedelta(minutes=20),)
    assert again.recent("vps", "other", NOW) == (NOW - timedelta(minutes=5),)
    assert again.recent("elsewhere", "abc", NOW) == ()


def test_a_damaged_ledger_is_an_error_that_says_removing_it_restarts_the_budget(tmp_path: Path) -> None:
    (tmp_path / FILE_NAMES[RECORD]).write_text("{not json")
    with pytest.raises(DamagedRecord, match=r"\.reconcile\.restarts\.json is damaged \(not JSON.*remove it: the on_unhealthy"):
        ledger_in(tmp_path).recent("vps", "abc", NOW)
    (tmp_path / FILE_NAMES[RECORD]).unlink()  # the repair the message names
    ledger = ledger_in(tmp_path)
    ledger.record("vps", "abc", NOW)
    assert ledger.recent("vps", "abc", NOW + timedelta(minutes=1)) == (NOW,)


def test_a_restart_written_twice_counts_once(tmp_path: Path) -> None:
    """A write whose answer was lost is re-applied over the record it made: one restart, not two."""
    ledger = ledger_in(tmp_path)
    ledger.record("vps", "abc", NOW)
    ledger_in(tmp_path).record("vps", "abc", NOW)
    assert ledger_in(tmp_path).recent("vps", "abc", NOW + timedelta(minutes=1)) == (NOW,)
