"""reconcile's own run of a container's declared healthcheck, while apply waits for it to be healthy.

The engine runs a healthcheck first one *interval* after the container starts (ten minutes with
`interval: 10m`; `start_interval` shortens that only on engines with API ≥ 1.44), and waiting for
the engine to say `healthy` made every healthy-first replace, `depends_on: condition:
service_healthy` and `on_unhealthy: restart` wait that long. So while apply waits, it runs the same
check itself, in the container, through the Engine API (exec create/start/inspect), every
PROBE_SECONDS: the engine's own form of it (CMD: the program and its arguments; CMD-SHELL: the
container's shell, /bin/sh -c by default, with the command), bounded by the check's timeout. One
pass makes it healthy, as one pass does for the engine. Failing runs end the wait as unhealthy no
sooner than the engine would: `retries` of them in a row after the declared start period, and not
before start period + retries × interval (a service that needs a few seconds to answer, with
compose's default start period of 0, is what the engine calls healthy: its first check is one
interval after start). A check that outlives its timeout counts as
failed (the engine kills such a run; the Engine API has no way to, so it is left to end on its
own), and no new run starts while STRAY_RUNS of them still run. A check whose interval is ENGINE_IS_QUICK or
less is left to the engine: it runs it as often as apply would. Nothing about the container changes: its
configured check (interval, timeout, retries) and what the engine reports as its health stay as
declared, so the config hash is the same with or without these runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import docker
from docker.utils import version_gte

from reconciler.kinds.container.start import LOG_LINE_CHARS, hidden

PROBE_SECONDS = 1.0
ENGINE_IS_QUICK = 2.0  # seconds of interval: the engine's own runs are as quick as ours
DEFAULT_SECONDS = 30.0  # the engine's default interval and timeout
DEFAULT_RETRIES = 3
STRAY_RUNS = 3  # timed-out runs still running in the container, at most
DEFAULT_SHELL = ("/bin/sh", "-c")
START_INTERVAL_API = "1.44"


@dataclass(frozen=True)
class Outcome:
    passed: bool
    output: str  # its last line, at most LOG_LINE_CHARS, every secret hidden


def check_command(test: list[str] | None, shell: list[str] | None = None) -> list[str] | None:
    """What the engine runs for a healthcheck's Test, or None when there is nothing to run (NONE,
    absent, inherited from the image: [] )."""
    if not test or test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2:
        return None
    return test[1:] if test[0] == "CMD" else [*(shell or DEFAULT_SHELL), *test[1:]]


def worth_running(check: dict[str, Any]) -> bool:
    """Whether apply runs the check itself: there is one to run, and the engine's interval is long."""
    interval = float(check.get("Interval") or DEFAULT_SECONDS * 1e9) / 1e9
    return check_command(check.get("Test")) is not None and interval > ENGINE_IS_QUICK


def keeps_start_interval(client: docker.APIClient) -> bool:
    """Whether the engine keeps a healthcheck's start_interval (API 1.44 and later; older ones drop it)."""
    return bool(version_gte(client.api_version, START_INTERVAL_API))


def check_timeout(check: dict[str, Any]) -> float:
    return float(check.get("Timeout") or DEFAULT_SECONDS * 1e9) / 1e9


def check_start_period(check: dict[str, Any]) -> float:
    return float(check.get("StartPeriod") or 0) / 1e9


def check_retries(check: dict[str, Any]) -> int:
    return int(check.get("Retries") or DEFAULT_RETRIES)


class HealthProbe:
    """The declared check of one container, run on demand (see the module's docstring)."""

    def __init__(self, client: docker.APIClient, record: dict[str, Any], secrets: list[str]) -> None:
        config = record.get("Config") or {}
        check = config.get("Healthcheck") or {}
        self.client = client
        self.container_id = str(record["Id"])
        self.command = check_command(check.get("Test"), config.get("Shell"))
        self.timeout = check_timeout(check)
        self.secrets = secrets
        self.strays: list[threading.Thread] = []  # runs that outlived their timeout, still running

    def run(self) -> Outcome | None:
        """Pass or fail, or None when it cannot say now (nothing to run, STRAY_RUNS timed-out runs
        still running, or the engine refused the exec: the container stopped, say)."""
        self.strays = [thread for thread in self.strays if thread.is_alive()]
        if self.command is None or len(self.strays) >= STRAY_RUNS:
            return None
        try:
            exec_id = self.client.exec_create(self.container_id, self.command, stdout=True, stderr=True)["Id"]
        except docker.errors.APIError:
            return None
        said: dict[str, Any] = {}

        def start() -> None:
            try:
                said["output"] = self.client.exec_start(exec_id)
            except docker.errors.DockerException as error:
                said["error"] = error

        thread = threading.Thread(target=start, name="health-probe", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            self.strays.append(thread)
            return Outcome(False, f"the check timed out after {self.timeout:g}s")
        if "error" in said:
            return None
        try:
            code = self.client.exec_inspect(exec_id).get("ExitCode")
        except docker.errors.APIError:
            return None
        text = hidden(bytes(said.get("output") or b"").decode(errors="replace"), self.secrets)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return Outcome(code == 0, f"exit {code}, output: {lines[-1][:LOG_LINE_CHARS] if lines else '(none)'}")
