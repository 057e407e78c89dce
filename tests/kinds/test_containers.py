"""Containers end to end: `reconcile plan` and `apply` as a user runs them, against a real Docker
engine (started by the test harness if none runs) with locally built images."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from reconciler.apply.lock import StateLock
from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

SECRET = "Zq-test-secret-4e1d9"
Reconcile = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def reconcile(tmp_path: Path, docker_client: docker.DockerClient) -> Reconcile:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env={"TEST_SECRET": SECRET, **(env or {})})

    return run


def write(state: Path, text: str) -> None:
    (state / "containers.yaml").write_text(textwrap.dedent(text))


def container(name: str, *, extra: str = "", command: str = '["sleep", "300"]', healthcheck: str = "test -d /tmp") -> str:
    """A test container: busybox, no network, init as PID 1, a quick healthcheck (one that could
    fail: `true` would be a healthcheck-cannot-fail warning in every plan)."""
    lines = [
        f"  {name}:",
        f"    image: {TEST_IMAGE}",
        f"    command: {command}",
        "    network_mode: none",
        "    init: true",
        "    stop_grace_period: 2s",
        f"    healthcheck: {{test: [CMD-SHELL, '{healthcheck}'], interval: 1s, timeout: 1s, retries: 2}}",
    ]
    lines += [f"    {line}" for line in textwrap.dedent(extra).strip().splitlines()]
    return "\n".join(lines) + "\n"


def containers(*specs: str) -> str:
    return "containers:\n" + "".join(specs)


def slow_dependency_and_dependant(prefix: str, seconds: int) -> str:
    """PREFIX-db gets healthy only after ``seconds``; PREFIX-web depends on it."""
    command = f'["sh", "-c", "sleep {seconds}; touch /tmp/ready; sleep 300"]'
    slow_db = container(f"{prefix}-db", healthcheck="test -f /tmp/ready", command=command)
    return containers(slow_db, container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]"))


def engine(client: docker.DockerClient, name: str) -> dict[str, Any]:
    return client.api.inspect_container(name)  # type: ignore[no-any-return]


def absent(client: docker.DockerClient, name: str) -> bool:
    try:
        client.api.inspect_container(name)
    except docker.errors.NotFound:
        return True
    return False


@pytest.fixture
def events(docker_client: docker.DockerClient) -> Callable[[datetime], list[dict[str, Any]]]:
    """The engine's container and image events since a moment (what `docker events` shows)."""

    def since(moment: datetime) -> list[dict[str, Any]]:
        until = datetime.now(UTC)
        stream = docker_client.api.events(since=moment, until=until, decode=True)
        after = moment.timestamp() * 1e9  # `since` has a resolution of one second; timeNano does not
        return [e for e in stream if e.get("Type") in ("container", "image") and e.get("timeNano", 0) >= after]

    return since


def test_plan_apply_plan_converges_and_plan_changes_nothing(
    state: Path,
    reconcile: Reconcile,
    prefix: str,
    docker_client: docker.DockerClient,
    events: Callable[[datetime], list[dict[str, Any]]],
) -> None:
    write(state, containers(container(f"{prefix}-db"), container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]")))
    before = datetime.now(UTC)
    first = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert first.returncode == 2, first.stderr
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy, 0 blocked." in first.stdout
    time.sleep(1.1)  # the engine's event times have a resolution of one second
    changed = [(e["Type"], e["Action"]) for e in events(before) if (e["Type"], e["Action"]) != ("image", "save")]
    assert changed == [], "plan must not create, start, stop, pull or exec; reading an image's layers (save) is all"
    assert absent(docker_client, f"{prefix}-db")

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete: 2 done." in applied.stdout

    again = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    assert again.stdout.startswith("No changes.")
    labels = engine(docker_client, f"{prefix}-web")["Config"]["Labels"]
    assert labels["reconciler.managed"] == "true"
    assert labels["reconciler.address"] == f"container.{prefix}-web"
    assert labels["reconciler.config-hash"].startswith("sha256:")


def test_dependants_start_only_once_their_dependency_is_healthy(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(state, slow_dependency_and_dependant(prefix, seconds=2))
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"waiting for {prefix}-db to be healthy" in applied.stderr
    db_health = engine(docker_client, f"{prefix}-db")["State"]["Health"]["Log"]
    first_healthy = min(entry["End"] for entry in db_health if entry["ExitCode"] == 0)
    web_started = engine(docker_client, f"{prefix}-web")["State"]["StartedAt"]
    assert web_started > first_healthy


def test_drift_made_by_hand_is_found_and_repaired(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    write(state, containers(container(name, extra="restart: unless-stopped")))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    original = engine(docker_client, name)["Id"]
    docker_client.api.stop(name, timeout=1)
    docker_client.api.update_container(name, restart_policy={"Name": "no"})

    plan = reconcile("plan", "desired_state")
    assert f"~ container.{name}" in plan.stdout
    assert 'restart: "no" → "unless-stopped"' in plan.stdout
    assert 'state: "stopped" → "running"' in plan.stdout
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy, 0 blocked." in plan.stdout

    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    repaired = engine(docker_client, name)
    assert repaired["Id"] == original  # repaired in place, not recreated
    assert repaired["State"]["Status"] == "running"
    assert repaired["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


def test_a_changed_field_replaces_healthy_first(
    state: Path,
    reconcile: Reconcile,
    prefix: str,
    docker_client: docker.DockerClient,
    events: Callable[[datetime], list[dict[str, Any]]],
) -> None:
    name = f"{prefix}-web"
    write(state, containers(container(name)))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    old_id = engine(docker_client, name)["Id"]
    write(state, containers(container(name, command='["sleep", "301"]')))
    plan = reconcile("plan", "desired_state")
    assert f"-/+ container.{name}" in plan.stdout
    assert 'command: ["sleep", "300"] → ["sleep", "301"]' in plan.stdout

    before = datetime.now(UTC)
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    new = engine(docker_client, name)
    assert new["Id"] != old_id
    assert new["Config"]["Cmd"] == ["sleep", "301"]
    assert new["State"]["Health"]["Status"] == "healthy"
    assert absent(docker_client, old_id)
    time.sleep(1.1)
    happened = [(e["Action"], e["id"]) for e in events(before) if e["Type"] == "container"]
    new_healthy = happened.index(("health_status: healthy", new["Id"]))
    old_stopped = next(i for i, (action, cid) in enumerate(happened) if cid == old_id and action in ("kill", "die", "stop"))
    assert new_healthy < old_stopped, happened
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


def test_a_replacement_that_never_gets_healthy_is_rolled_back(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    write(state, containers(container(name)))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    old_id = engine(docker_client, name)["Id"]
    write(state, containers(container(name, healthcheck="echo database unreachable; false")))

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1
    assert "never became healthy" in applied.stdout
    assert "database unreachable" in applied.stdout  # the health log's last output
    assert "the old container keeps running" in applied.stdout
    kept = engine(docker_client, name)
    assert (kept["Id"], kept["State"]["Status"]) == (old_id, "running")
    assert absent(docker_client, f"{name}-reconcile-new")
    assert f"-/+ container.{name}" in reconcile("plan", "desired_state").stdout  # still to do


def test_a_container_no_longer_declared_is_deleted(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(state, containers(container(f"{prefix}-a"), container(f"{prefix}-b")))
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    write(state, containers(container(f"{prefix}-a")))
    plan = reconcile("plan", "desired_state")
    assert f"  - container.{prefix}-b" in plan.stdout
    assert "(no longer declared)" in plan.stdout
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    assert absent(docker_client, f"{prefix}-b")
    assert not absent(docker_client, f"{prefix}-a")


def test_an_unmanaged_container_is_reported_and_never_touched(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    name = f"{prefix}-web"
    theirs = docker_client.containers.run(
        TEST_IMAGE, ["sleep", "300"], name=name, detach=True, network_mode="none", init=True, labels={"reconciler.test": "1"}
    )
    bystander = docker_client.containers.run(
        TEST_IMAGE,
        ["sleep", "300"],
        name=f"{prefix}-other",
        detach=True,
        network_mode="none",
        init=True,
        labels={"reconciler.test": "1"},
    )
    write(state, containers(container(name)))
    plan = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert plan.returncode == 2
    assert "! blocked: container " + name + " exists on host local and is not managed by reconcile" in plan.stdout
    assert f"{prefix}-other" not in plan.stdout
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1
    assert f"blocked     container.{name}" in applied.stdout
    for untouched in (theirs, bystander):
        after = engine(docker_client, untouched.id)
        assert after["State"]["Status"] == "running"
        assert "reconciler.managed" not in after["Config"]["Labels"]


def test_a_saved_plan_is_refused_once_reality_moved(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    write(state, containers(container(f"{prefix}-web")))
    assert reconcile("plan", "desired_state", "--out", "plan.json").returncode == 0
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert saved["actions"][0]["action"] == "create"

    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0  # someone else applied meanwhile
    created = engine(docker_client, f"{prefix}-web")["Id"]
    stale = reconcile("apply", "plan.json")
    assert stale.returncode == 1
    assert "stale plan" in stale.stderr
    assert f"container.{prefix}-web" in stale.stderr
    assert engine(docker_client, f"{prefix}-web")["Id"] == created  # nothing changed

    write(state, containers(container(f"{prefix}-web"), container(f"{prefix}-api")))
    assert "the desired state changed" in reconcile("apply", "plan.json").stderr


def test_a_saved_plan_still_true_is_applied_without_asking(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(state, containers(container(f"{prefix}-web")))
    assert reconcile("plan", "desired_state", "--out", "plan.json").returncode == 0
    applied = reconcile("apply", "plan.json")
    assert applied.returncode == 0, applied.stderr
    assert engine(docker_client, f"{prefix}-web")["State"]["Status"] == "running"


def test_a_partial_failure_loses_nothing_and_a_second_apply_finishes(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    broken = container(f"{prefix}-api").replace(TEST_IMAGE, "reconciler-test/not-built:1")
    write(state, containers(container(f"{prefix}-db"), broken, container(f"{prefix}-web", extra=f"depends_on: [{prefix}-api]")))
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1
    assert f"done        container.{prefix}-db" in applied.stdout
    assert (
        f"failed      container.{prefix}-api: image reconciler-test/not-built:1 is not on host local and pulling it failed"
        in applied.stdout
    )
    assert (
        f"skipped     container.{prefix}-web: not applied: it depends on container.{prefix}-api, which failed" in applied.stdout
    )
    assert "Apply incomplete: 1 done, 1 failed, 1 skipped." in applied.stdout

    left = reconcile("plan", "desired_state")
    assert "Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy, 0 blocked." in left.stdout
    assert f"+ container.{prefix}-db" not in left.stdout

    write(
        state,
        containers(
            container(f"{prefix}-db"), container(f"{prefix}-api"), container(f"{prefix}-web", extra=f"depends_on: [{prefix}-api]")
        ),
    )
    assert reconcile("apply", "desired_state", "--auto-approve").returncode == 0
    assert reconcile("plan", "desired_state").stdout.startswith("No changes.")


def test_one_apply_at_a_time(state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient) -> None:
    write(state, containers(container(f"{prefix}-web")))
    with StateLock(state, 0, print) as held:
        holder = held.holder()
        refused = reconcile("apply", "desired_state", "--auto-approve")
    assert refused.returncode == 1
    assert f"the state is locked by {holder}" in refused.stderr
    assert f"lock id {held.id}" in holder
    assert absent(docker_client, f"{prefix}-web")

    # Hold the lock until the second apply says it is waiting for it, then let it go.
    command = [sys.executable, "-m", "reconciler", "apply", "desired_state", "--auto-approve", "--lock-timeout", "60s"]
    with StateLock(state, 0, print):
        waiter = subprocess.Popen(command, cwd=state.parent, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert waiter.stderr is not None
        said = ""
        while "waiting for the lock held by" not in said:
            line = waiter.stderr.readline()
            assert line, f"apply ended without waiting: {said}"
            said += line
    _, rest = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, said + rest
    assert not absent(docker_client, f"{prefix}-web")


def test_apply_of_a_directory_without_a_terminal_needs_auto_approve(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(state, containers(container(f"{prefix}-web")))
    refused = reconcile("apply", "desired_state")
    assert refused.returncode == 1
    assert "needs --auto-approve" in refused.stderr
    assert absent(docker_client, f"{prefix}-web")


def test_secrets_never_reach_output_plan_files_or_logs(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    name = f"{prefix}-web"
    secret = "settings: {secrets: [TEST_SECRET]}\n"
    write(state, secret + containers(container(name, extra="environment: {DB_PASSWORD: '${TEST_SECRET}'}")))
    outputs = [reconcile("plan", "desired_state", "--out", "plan.json"), reconcile("plan", "desired_state", "--format", "json")]
    outputs.append(reconcile("apply", "plan.json"))
    env = dict(e.split("=", 1) for e in engine(docker_client, name)["Config"]["Env"])
    assert env["DB_PASSWORD"] == SECRET  # the container gets it
    assert "(sensitive)" in outputs[0].stdout
    write(state, secret + containers(container(name, extra="environment: {DB_PASSWORD: '${TEST_SECRET}-rotated'}")))
    outputs.append(reconcile("plan", "desired_state"))
    assert 'environment.DB_PASSWORD: "(sensitive)" → "(sensitive)"' in outputs[-1].stdout
    outputs.append(reconcile("apply", "desired_state", "--auto-approve"))
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
    assert SECRET not in (tmp_path / "plan.json").read_text()
    assert SECRET not in engine(docker_client, name)["Config"]["Labels"]["reconciler.config-hash"]


def test_sigterm_stops_starting_new_steps_and_releases_the_lock(
    state: Path, tmp_path: Path, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(state, slow_dependency_and_dependant(prefix, seconds=3))
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "desired_state", "--auto-approve", "--parallelism", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while absent(docker_client, f"{prefix}-db") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "stopping (SIGTERM): no new steps start" in stderr
    assert f"container.{prefix}-db" in stdout
    assert "Apply incomplete" in stdout
    assert not (state / ".reconcile.lock.info").exists()
    assert "+ container." in run_reconcile("plan", "desired_state", cwd=tmp_path).stdout  # what is left


def test_target_plans_and_applies_only_the_address_and_what_it_depends_on(
    state: Path, reconcile: Reconcile, prefix: str, docker_client: docker.DockerClient
) -> None:
    write(
        state,
        containers(
            container(f"{prefix}-db"),
            container(f"{prefix}-web", extra=f"depends_on: [{prefix}-db]"),
            container(f"{prefix}-other"),
        ),
    )
    plan = reconcile("plan", "desired_state", "--target", f"container.{prefix}-web")
    assert "Plan: 2 to add" in plan.stdout
    assert f"container.{prefix}-other" not in plan.stdout
    assert reconcile("apply", "desired_state", "--auto-approve", "--target", f"container.{prefix}-web").returncode == 0
    assert absent(docker_client, f"{prefix}-other")
    assert not absent(docker_client, f"{prefix}-db")
    unknown = reconcile("plan", "desired_state", "--target", "container.nope")
    assert unknown.returncode == 1
    assert "--target container.nope: no such resource" in unknown.stderr


def test_a_container_that_dies_right_after_start_fails_its_step(state: Path, reconcile: Reconcile, prefix: str) -> None:
    """init starts fine, the command does not exist: apply must not report success."""
    write(state, containers(container(f"{prefix}-bad", command='["no-such-program"]'), container(f"{prefix}-good")))
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 1
    assert f"failed      container.{prefix}-bad: started, then exited at once with code" in applied.stdout
    assert "no-such-program" in applied.stdout  # the last log line says why
    assert f"done        container.{prefix}-good" in applied.stdout
    assert "Apply incomplete: 1 done, 1 failed." in applied.stdout
