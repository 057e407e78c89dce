"""When a started container counts as started: still running STARTED_SECONDS after its start, and
never restarted in between.

compose's `service_started` only asks that the engine started the process, which a command that
exits at once passes too; under `restart: always` the engine then restarts it again and again and
it looks "running" most of the time. Docker's own restart manager calls a run shorter than 10 s a
failed start (it backs off), but 10 s per container is too slow for every apply. Half a second
is enough to see a command that exits at once: it has exited (FinishedAt − StartedAt is a few
milliseconds for a shell that fails its first line, a command the image lacks, a config file that is
not there) and, under a restart policy, been restarted at least once (the engine's first restart
comes after 100 ms). The window is what the last container started adds to an apply (its check
cannot end sooner), so it is kept short: a process that takes longer to fail is the next plan's
`restart-loop` warning (or, under `restart: no`, its planned start). A container with a healthcheck passes this first,
then its dependants wait for it to be healthy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import docker

from reconciler.clients.docker import inspect_container

STARTED_SECONDS = 0.5
POLL_SECONDS = 0.2
LOG_LINES = 5  # the last lines of its log said with a failed start, each cut to LOG_LINE_CHARS
LOG_LINE_CHARS = 200
REDACTED = "(sensitive)"


def wait_started(
    client: docker.APIClient, container_id: str, restart: str, give_up: threading.Event, secrets: Iterable[str]
) -> str | None:
    """None once the container has stayed up STARTED_SECONDS (or ``give_up`` is set: then the
    walk's verify still looks at it); else why it does not count as started."""
    began = time.monotonic()
    while True:
        record = inspect_container(client, container_id)
        failed = not_running(record, restart)
        # restarted and running again: its exit code is reset, so wait (briefly) to see it exit again
        caught_running = (record.get("State") or {}).get("Status") == "running"
        if failed is not None and not (caught_running and time.monotonic() - began < 2 * STARTED_SECONDS):
            return failed + log_tail(client, container_id, secrets)
        if failed is None and time.monotonic() - began >= STARTED_SECONDS:
            return None
        if give_up.wait(POLL_SECONDS / 4 if failed else POLL_SECONDS):
            return None


def not_running(record: dict[str, Any], restart: str) -> str | None:
    """Why a container that was started is not up now (exited, or restarted by its policy), or None."""
    state = record.get("State") or {}
    status, code, restarts = state.get("Status"), state.get("ExitCode"), record.get("RestartCount") or 0
    if restarts or status == "restarting":
        exited = f"exited with code {code}" if status != "running" else "exited"  # running again: its code is reset
        return (
            f"it does not stay up: it {exited} and restart: {restart} restarts it again and again "
            f"(a restart loop: restarted {restarts} {'time' if restarts == 1 else 'times'} so far)"
        )
    if status in ("exited", "dead"):
        return f"started, then exited at once with code {code}"
    return None


def up_long_enough(record: dict[str, Any], now: datetime | None = None) -> bool:
    """Running, and since at least STARTED_SECONDS (a dependency without a healthcheck is ready)."""
    state = record.get("State") or {}
    started = state.get("StartedAt") or ""
    if state.get("Status") != "running" or not started or started.startswith("0001-"):
        return False
    head, _, fraction = started.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(f"{head}.{(fraction or '0')[:6]}+00:00")
    return ((now or datetime.now(UTC)) - moment).total_seconds() >= STARTED_SECONDS


def log_tail(client: docker.APIClient, container_id: str, secrets: Iterable[str]) -> str:
    """'; last log lines: …': at most LOG_LINES lines of LOG_LINE_CHARS, every secret value hidden."""
    try:
        raw = client.logs(container_id, tail=LOG_LINES)
    except docker.errors.APIError:
        return ""
    text = hidden(raw.decode(errors="replace"), secrets)
    lines = [line.strip()[:LOG_LINE_CHARS] for line in text.splitlines() if line.strip()][-LOG_LINES:]
    return f"; last log lines: {' | '.join(lines)}" if lines else ""


def hidden(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret value said as REDACTED (the longest first: one may hold another)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
