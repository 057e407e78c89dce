"""Findings about containers (SPEC §3.3), pure: from the spec, the policies and what was observed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from reconciler.model.spec import Container, Policies
from reconciler.model.unknown import Unknown
from reconciler.plan.schema import Finding
from reconciler.policies.healthcheck import SEVERITY, healthcheck_problems
from reconciler.policies.healthcheck_lies import CANNOT_FAIL, Declared, healthcheck_lies
from reconciler.policies.image_view import ImageView

RESTART_WINDOW = timedelta(hours=1)
ROTATING_DRIVERS = ("json-file", "local")


@dataclass(frozen=True)
class Health:
    """A running container's health as the engine reports it."""

    status: str  # the container: running, exited, …
    health: str | None  # healthy, unhealthy, starting; None without a healthcheck
    failing_streak: int
    last_output: str
    restart_count: int
    started_at: datetime | None
    start_period: timedelta
    first_check_within: timedelta = timedelta(seconds=60)  # interval + timeout: when the first result is due


def _finding(severity: Literal["error", "warning"], address: str, code: str, message: str, remedy: str | None = None) -> Finding:
    return Finding(severity=severity, address=address, code=code, message=message, remedy=remedy)


def declared_findings(address: str, spec: Container, policies: Policies) -> list[Finding]:
    """What the spec alone says: a missing healthcheck, logs that are never rotated."""
    found = []
    check = spec.healthcheck
    if policies.require_healthcheck and (check is None or check.disable or check.test == ("NONE",)):
        found.append(
            _finding(
                "error",
                address,
                "healthcheck-missing",
                "no healthcheck is declared (policies.require_healthcheck)",
                'declare one, e.g. healthcheck: {test: ["CMD-SHELL", "nc -z 127.0.0.1 PORT || exit 1"], interval: 30s}',
            )
        )
    driver = spec.logging.driver if spec.logging else "json-file"
    if (
        policies.require_log_rotation
        and driver in ROTATING_DRIVERS
        and "max-size" not in (spec.logging.options if spec.logging else {})
    ):
        found.append(
            _finding(
                "error",
                address,
                "log-rotation-missing",
                f"the {driver} log driver has no max-size, so logs grow until the disk is full",
                'set logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}',
            )
        )
    return found


def image_findings(address: str, spec: Container, image: ImageView | None, policies: Policies) -> list[Finding]:
    """What the image's files say about the healthcheck (read from its layers, never run)."""
    if not policies.check_healthcheck_binaries or spec.healthcheck is None or spec.healthcheck.test is None:
        return []
    test = spec.healthcheck.test
    if any(isinstance(word, Unknown) for word in test):
        return []  # its words are known at apply; apply loads them, and the next plan checks them
    if image is None:
        return [
            _finding(
                "warning",
                address,
                "image-not-local",
                f"image {spec.image} is not on host {spec.host}, so its contents were not checked",
                f"build or pull {spec.image} on the host; plan never pulls",
            )
        ]
    return [
        _finding(SEVERITY[p.code], address, p.code, p.message, p.remedy)
        for p in healthcheck_problems([w for w in test if not isinstance(w, Unknown)], image)
    ]


def lie_findings(address: str, name: str, declared: Declared, policies: Policies) -> list[Finding]:
    """Healthchecks that cannot tell the truth (see healthcheck_lies). A check that cannot fail is
    an error where policies.require_healthcheck makes a missing one an error (it is no check at
    all), a warning otherwise; a process grep or a probe of another service is a warning (it can
    still catch something, and a probe's port ownership is read from declarations)."""
    found = []
    for lie in healthcheck_lies(name, declared):
        severity: Literal["error", "warning"] = "error" if lie.code == CANNOT_FAIL and policies.require_healthcheck else "warning"
        found.append(_finding(severity, address, lie.code, lie.message, lie.remedy))
    return found


def failing_checks(count: int) -> str:
    return f"{count} failing check{'' if count == 1 else 's'}"


def health_findings(address: str, health: Health, now: datetime) -> list[Finding]:
    """What a running container's health and restarts say."""
    found = []
    if health.status == "running" and health.health == "unhealthy":
        found.append(
            _finding(
                "warning",
                address,
                "unhealthy",
                f"unhealthy, {failing_checks(health.failing_streak)} in a row; last output: {health.last_output or '(none)'}",
                "fix the healthcheck or the service; on_unhealthy: restart lets apply restart it",
            )
        )
    elif health.status == "running" and health.health == "starting" and health.started_at is not None:
        running_for = now - health.started_at
        seconds, allowed = int(running_for.total_seconds()), int(health.start_period.total_seconds())
        if running_for > health.start_period + health.first_check_within:
            found.append(
                _finding(
                    "warning",
                    address,
                    "unhealthy",
                    f"still starting after {seconds}s, past its start period of {allowed}s",
                    "check that the healthcheck can ever pass",
                )
            )
    if health.restart_count > 0 and health.started_at is not None and now - health.started_at < RESTART_WINDOW:
        since = int((now - health.started_at).total_seconds())
        found.append(
            _finding(
                "warning",
                address,
                "restart-loop",
                f"restarted {health.restart_count} times; the last start was {since}s ago",
                "read its logs: a crash loop hides behind restart: always",
            )
        )
    return found
