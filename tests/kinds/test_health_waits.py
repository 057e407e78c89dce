"""Health waits end when the service is healthy, not when the healthcheck's interval says: apply
runs the container's own check itself while it waits (reconciler/kinds/container/probe.py), so a
container whose check runs every 10 minutes is replaced, or lets its dependants start, as soon as
the check passes, while the engine still says `starting` (its first run is 10 minutes away)."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import docker
import pytest
from docker.utils import version_gte

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

SECRET = "Zq-health-secret-7c2a0"
NOT_FOREVER = 90  # a safety net for the code before these waits (it waited 30 minutes), not a measure
Reconcile = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def reconcile(tmp_path: Path, docker_client: docker.DockerClient) -> Reconcile:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env={"TEST_SECRET": SECRET}, timeout=NOT_FOREVER)

    return run


def slow_check(name: str, *, test: str, command: str = "sleep 300", extra: str = "", start_period: str = "0s") -> str:
    """A busybox container whose check runs every 10 minutes (the engine's first run is 10 minutes
    after start): CMD-SHELL ``test``, or the CMD form when ``test`` starts with `[CMD,`."""
    form = test if test.startswith("[CMD,") else f"[CMD-SHELL, '{test}']"
    lines = [
        f"  {name}:",
        f"    image: {TEST_IMAGE}",
        f"    command: [sh, -c, '{command}']",
        "    network_mode: none",
        "    init: true",
        "    stop_grace_period: 1s",
        f"    healthcheck: {{test: {form}, interval: 10m, timeout: 2s, retries: 2, start_period: {start_period}}}",
    ]
    lines += [f"    {line}" for line in textwrap.dedent(extra).strip().splitlines()]
    return "\n".join(lines) + "\n"


def write(state: Path, *specs: str, head: str = "") -> None:
    (state / "containers.yaml").write_text(head + "containers:\n" + "".join(specs))


def health(client: docker.DockerClient, name: str) -> str:
    return str(client.api.inspect_container(name)["State"]["Health"]["Status"])


def test_a_replace_ends_when_our_run_of_the_check_passes_not_after_the_interval(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    write(state, slow_check(name, test="test -d /tmp"))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    old_id = docker_client.api.inspect_container(name)["Id"]
    write(state, slow_check(name, test="[CMD, test, -d, /tmp]", command="sleep 301"))  # the CMD form

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "replaced (the new container was healthy before the old one was removed)" in applied.stdout
    new = docker_client.api.inspect_container(name)
    assert new["Id"] != old_id and new["Config"]["Cmd"] == ["sh", "-c", "sleep 301"]
    assert health(docker_client, name) == "starting"  # the engine has not run the check yet: ours did
    assert new["Config"]["Healthcheck"]["Interval"] == 600 * 10**9  # as declared: nothing changed for the engine
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


def test_a_service_healthy_dependant_starts_once_the_check_passes(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    db, web = f"{prefix}-db", f"{prefix}-web"
    dependant = f"depends_on: {{{db}: {{condition: service_healthy}}}}"
    write(
        state,
        slow_check(db, test="test -f /tmp/ready", command="sleep 2; touch /tmp/ready; sleep 300"),
        slow_check(web, test="test -d /tmp", extra=dependant),
    )
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"waiting for {db} to be running and healthy" in applied.stderr or f"waiting for {db}" in applied.stderr
    assert docker_client.api.inspect_container(web)["State"]["Status"] == "running"
    assert health(docker_client, db) == "starting"  # healthy by our run of its check; the engine's is 10 minutes away
    ready_at = docker_client.api.exec_start(docker_client.api.exec_create(db, ["stat", "-c", "%y", "/tmp/ready"])["Id"])
    assert ready_at.strip(), "the dependency's check passed only once /tmp/ready existed"
    assert docker_client.api.inspect_container(web)["State"]["StartedAt"] > ready_at.decode().replace(" ", "T")[:19]


def test_a_service_that_answers_seconds_after_its_start_is_healthy_as_the_engine_would_say(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    """compose's defaults (no start period, a 30 s interval): the engine's first check comes 30 s
    after start, so a service that needs 4 s to answer is healthy. Its replace and its
    service_healthy dependant go ahead once our run of the check passes. Was: our runs, a second
    apart, called it unhealthy after 2 failures (~2 s): the replace rolled back, the dependant failed."""
    db, web = f"{prefix}-db", f"{prefix}-web"
    warming = "sleep 4; touch /tmp/ready; sleep 300"
    dependant = f"depends_on: {{{db}: {{condition: service_healthy}}}}"
    db_spec = slow_check(db, test="test -f /tmp/ready", command=warming).replace("interval: 10m", "interval: 30s")
    write(state, db_spec, slow_check(web, test="test -f /tmp/ready", command=warming, extra=dependant))
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert docker_client.api.inspect_container(web)["State"]["Status"] == "running"
    old_id = docker_client.api.inspect_container(web)["Id"]

    write(state, db_spec, slow_check(web, test="test -f /tmp/ready", command=warming.replace("300", "301"), extra=dependant))
    replaced = reconcile("apply", "desired_state", "--auto-approve")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert "replaced (the new container was healthy before the old one was removed)" in replaced.stdout
    assert docker_client.api.inspect_container(web)["Id"] != old_id


def test_a_check_that_keeps_failing_fails_the_replace_after_the_start_period_with_its_output(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    write(state, slow_check(name, test="test -d /tmp"))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    old_id = docker_client.api.inspect_container(name)["Id"]
    failing = slow_check(name, test="echo database unreachable; false", start_period="2s")
    write(state, failing.replace("interval: 10m", "interval: 3s"))  # the engine's verdict: 2 s + 2 × 3 s

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "never became healthy" in applied.stdout
    assert "database unreachable" in applied.stdout  # the check's last output
    assert "the old container keeps running" in applied.stdout
    kept = docker_client.api.inspect_container(name)
    assert (kept["Id"], kept["State"]["Status"]) == (old_id, "running")
    assert f"-/+ container.{name}" in reconcile("plan", "desired_state").stdout  # still to do


def test_a_secret_in_the_check_never_reaches_any_output(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    db, web = f"{prefix}-db", f"{prefix}-web"
    head = "settings: {secrets: [TEST_SECRET]}\n"
    failing = slow_check(db, test="echo connecting with ${TEST_SECRET} failed; false").replace("interval: 10m", "interval: 1s")
    write(
        state,
        failing,
        slow_check(web, test="test -d /tmp", extra=f"depends_on: {{{db}: {{condition: service_healthy}}}}"),
        head=head,
    )
    outputs = [reconcile("plan", "desired_state"), reconcile("apply", "desired_state", "--auto-approve")]
    assert outputs[1].returncode == 1
    assert "connecting with (sensitive) failed" in outputs[1].stdout  # the check's output, its secret hidden
    outputs.append(reconcile("plan", "desired_state"))
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
    assert SECRET in " ".join(docker_client.api.inspect_container(db)["Config"]["Healthcheck"]["Test"])  # the engine runs it


def test_a_declared_start_interval_is_no_drift_on_an_engine_that_drops_it(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    write(state, slow_check(name, test="test -d /tmp").replace("retries: 2,", "retries: 2, start_interval: 1s,"))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    kept = docker_client.api.inspect_container(name)["Config"]["Healthcheck"]
    if version_gte(docker_client.api.api_version, "1.44"):
        assert kept["StartInterval"] == 10**9
    else:  # API < 1.44: the engine drops it; apply's own runs of the check stand in, and no replace is planned
        assert "StartInterval" not in kept
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


def test_a_check_that_outlives_its_timeout_fails(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    write(state, slow_check(name, test="test -d /tmp"))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    write(state, slow_check(name, test="echo checking; sleep 60").replace("interval: 10m", "interval: 3s"))  # timeout 2s

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "the check timed out after 2s" in applied.stdout
    assert "the old container keeps running" in applied.stdout
