"""What a cold apply asks the engine (a real one, behind a proxy that writes down each request):
the image once however many containers run it, and one list of the containers after the walk to see
they stayed up (not an inspect of each, nor a second of polling inside each step); a container that
does not stay up still fails its step, saying why."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.engine_log import logged_engine

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

COUNT = 6


def container(name: str, command: str = '["sleep", "300"]', extra: str = "") -> str:
    return (
        f"  {name}:\n"
        f"    image: {TEST_IMAGE}\n"
        f"    command: {command}\n"
        "    network_mode: none\n"
        "    init: true\n"
        "    stop_grace_period: 1s\n"
        "    healthcheck: {test: [CMD-SHELL, 'test -d /tmp'], interval: 10m, timeout: 5s, retries: 3}\n"
        f"{extra}"
    )


def test_a_cold_apply_looks_up_the_image_once_and_lists_the_containers_once_after_the_walk(
    tmp_path: Path, docker_host: str, docker_client: docker.DockerClient
) -> None:
    prefix = f"t{uuid.uuid4().hex[:6]}"
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "c.yaml").write_text("containers:\n" + "".join(container(f"{prefix}-{i}") for i in range(COUNT)))
    with logged_engine(docker_host.removeprefix("unix://")) as engine:
        applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path, env={"DOCKER_HOST": engine.url})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"Apply complete: {COUNT} done." in applied.stdout
    assert len(engine.calls("POST", "/containers/create")) == COUNT
    image_lookups = engine.calls("GET", f"/images/{TEST_IMAGE}/json")
    assert len(image_lookups) == 2, image_lookups  # the plan's, and the apply's before its first create
    inspects = [path for path in engine.calls("GET", "/containers/") if path.endswith("/json") and path != "/containers/json"]
    assert inspects == [], inspects  # running under `restart: no` in the list: nothing more to ask of each
    lists = engine.calls("GET", "/containers/json")
    assert len(lists) == 3, lists  # the plan's (containers, proxies), and one after the walk: each still up 0.5 s after its start
    running = docker_client.api.containers(filters={"name": prefix, "status": "running"})
    assert len(running) == COUNT


def test_a_container_nothing_depends_on_that_does_not_stay_up_fails_its_step(tmp_path: Path) -> None:
    """Its check runs after the walk: the step still fails, with the exit code and its last log line."""
    prefix = f"t{uuid.uuid4().hex[:6]}"
    state = tmp_path / "desired_state"
    state.mkdir()
    crashing = '["sh", "-c", "echo cannot open /data; exit 3"]'
    (state / "c.yaml").write_text(
        "containers:\n"
        + container(f"{prefix}-loop", crashing, "    restart: always\n")
        + container(f"{prefix}-once", crashing)
        + container(f"{prefix}-good")
    )
    applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 1, applied.stdout + applied.stderr
    lines = {line.split()[1].rstrip(":"): line for line in applied.stdout.splitlines() if line.startswith("  ")}
    loop, once = lines[f"container.{prefix}-loop"], lines[f"container.{prefix}-once"]
    assert loop.split()[0] == "failed" and "exited with code 3 and restart: always restarts it again and again" in loop
    assert "cannot open /data" in loop
    assert once.split()[0] == "failed" and "started, then exited at once with code 3" in once
    assert lines[f"container.{prefix}-good"].split()[0] == "done"
    assert "Apply incomplete: 1 done, 2 failed." in applied.stdout
