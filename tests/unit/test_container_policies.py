"""Findings about containers from the spec, the image's files and the observed health (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.model.spec import Container, Policies
from reconciler.policies.containers import Health, declared_findings, health_findings, image_findings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STRICT = Policies(require_healthcheck=True, require_log_rotation=True)


def spec(**fields: Any) -> Container:
    return Container.model_validate({"image": "app:1", "host": "vps", **fields})


def codes(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in findings]


def test_a_container_without_healthcheck_or_rotation_is_an_error_when_the_policies_ask() -> None:
    assert codes(declared_findings("container.web", spec(), STRICT)) == [
        ("error", "healthcheck-missing"),
        ("error", "log-rotation-missing"),
    ]
    assert declared_findings("container.web", spec(), Policies()) == []


def test_rotation_counts_only_for_drivers_that_write_files() -> None:
    rotated = {"driver": "json-file", "options": {"max-size": "10m"}}
    check = {"test": ["CMD", "true"]}
    assert declared_findings("c.w", spec(healthcheck=check, logging=rotated), STRICT) == []
    assert codes(declared_findings("c.w", spec(healthcheck=check, logging={"driver": "local"}), STRICT)) == [
        ("error", "log-rotation-missing")
    ]
    assert declared_findings("c.w", spec(healthcheck=check, logging={"driver": "journald"}), STRICT) == []


def test_a_disabled_healthcheck_counts_as_missing() -> None:
    assert codes(
        declared_findings("c.w", spec(healthcheck={"test": ["NONE"]}, logging={"options": {"max-size": "1m"}}), STRICT)
    ) == [("error", "healthcheck-missing")]


def test_an_image_that_is_not_local_is_a_warning_not_a_pull() -> None:
    found = image_findings("c.w", spec(healthcheck={"test": ["CMD", "wget"]}), None, Policies())
    assert codes(found) == [("warning", "image-not-local")]
    assert "app:1 is not on host vps" in found[0].message


def health(**fields: Any) -> Health:
    base: dict[str, Any] = {
        "status": "running", "health": "healthy", "failing_streak": 0, "last_output": "", "restart_count": 0,
        "started_at": NOW - timedelta(hours=3), "start_period": timedelta(seconds=10), "first_check_within": timedelta(seconds=40),
    }  # fmt: skip
    return Health(**{**base, **fields})


def test_unhealthy_names_the_streak_and_the_last_output() -> None:
    found = health_findings("c.w", health(health="unhealthy", failing_streak=7, last_output="wget: not found"), NOW)
    assert codes(found) == [("warning", "unhealthy")]
    assert "7 failing checks in a row; last output: wget: not found" in found[0].message


def test_starting_past_the_start_period_is_reported_and_within_it_is_not() -> None:
    assert codes(health_findings("c.w", health(health="starting", started_at=NOW - timedelta(seconds=60)), NOW)) == [
        ("warning", "unhealthy")
    ]
    assert health_findings("c.w", health(health="starting", started_at=NOW - timedelta(seconds=5)), NOW) == []


def test_a_restart_loop_is_restarts_since_a_recent_start() -> None:
    assert codes(health_findings("c.w", health(restart_count=4, started_at=NOW - timedelta(minutes=2)), NOW)) == [
        ("warning", "restart-loop")
    ]
    assert health_findings("c.w", health(restart_count=4, started_at=NOW - timedelta(hours=2)), NOW) == []
    assert health_findings("c.w", health(), NOW) == []
