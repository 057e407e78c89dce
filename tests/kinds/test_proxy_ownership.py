"""The proxy kind's part of ownership that the conformance suite (test_conformance.py) does not
apply: a legacy proxy (reconcile's labels, no state name) that this state declares is claimed by a
recreate that carries our state name, after which it is ours and nothing is left to do; and the
host ports that block a proxy's create are only those this state's own containers publish (on the
engine in a network namespace of its own, whose containers can publish ports: tests/support/compose_oracle)."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.kinds.conformance import stamp
from tests.support.cli import Reconcile
from tests.support.compose_oracle import netns_engine
from tests.support.docker_engine import TEST_IMAGE
from tests.support.proxy_image import PROXY_IMAGE, proxy_image

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


@pytest.fixture
def image(docker_host: str) -> str:
    unavailable = proxy_image(docker_host)
    if unavailable is not None:
        pytest.skip(f"no proxy image: {unavailable}")
    return PROXY_IMAGE


@pytest.fixture
def publishing_engine() -> Iterator[tuple[str, docker.APIClient]]:
    """The engine that publishes ports (its DOCKER_HOST and a client), with the proxy image, emptied
    of the test's and reconcile's containers."""
    host = netns_engine()
    unavailable = proxy_image(host)
    if unavailable is not None:
        pytest.skip(f"no proxy image: {unavailable}")
    client = docker.APIClient(base_url=host, timeout=60)

    def clear() -> None:
        for label in ("reconciler.test=1", "reconciler.managed=true"):
            for found in client.containers(all=True, filters={"label": label}):
                with contextlib.suppress(docker.errors.NotFound):
                    client.remove_container(found["Id"], force=True)

    clear()
    yield host, client
    clear()
    client.close()


def write(state: Path, docker_host: str, text: str) -> None:
    (state / "state.yaml").write_text(f"settings: {{name: blue}}\nhosts:\n  local: {{docker: '{docker_host}'}}\n{text}")


def plan(reconcile: Reconcile) -> dict[str, dict[str, Any]]:
    planned = reconcile("plan", "desired_state", "--format", "json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    return {action["address"]: action for action in json.loads(planned.stdout)["actions"]}


def test_a_legacy_proxy_declared_here_is_recreated_carrying_our_state_name(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, docker_client: docker.DockerClient, prefix: str, image: str
) -> None:
    name = f"{prefix}-edge"
    legacy = {**stamp(f"proxy.{name}", "local"), "reconciler.test": "1"}
    del legacy["reconciler.state"]
    made = docker_client.api.create_container(TEST_IMAGE, ["sleep", "300"], name=name, labels=legacy)["Id"]
    write(tmp_path / "desired_state", docker_host, f"proxies:\n  {name}: {{host: local, image: '{image}'}}\n")

    claimed = plan(reconcile)[f"proxy.{name}"]
    assert (claimed["action"], claimed["blocked"]) == ("replace", None), claimed
    assert any(r.startswith(f"claim: proxy {name} was made by reconcile before state names") for r in claimed["reasons"])
    assert "stop-first: the proxy itself is recreated, so its ports are down meanwhile" in claimed["reasons"]

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    now = docker_client.api.inspect_container(name)
    assert now["Id"] != made and now["Config"]["Labels"]["reconciler.state"] == "blue"
    assert now["State"]["Status"] == "running"
    after = plan(reconcile)[f"proxy.{name}"]
    assert (after["action"], after["reasons"]) == ("noop", []), after


def test_only_this_states_containers_hold_the_ports_a_proxy_is_to_publish(
    tmp_path: Path, reconcile: Reconcile, publishing_engine: tuple[str, docker.APIClient], prefix: str
) -> None:
    port = random.randint(30000, 60000)
    host, engine = publishing_engine

    def publishing(name: str, state: str) -> None:
        labels = {**stamp(f"container.{name}", "local"), "reconciler.state": state, "reconciler.test": "1"}
        host_config = engine.create_host_config(port_bindings={80: port})
        made = engine.create_container(
            TEST_IMAGE, ["sleep", "300"], name=name, labels=labels, ports=[80], host_config=host_config
        )
        engine.start(made["Id"])

    route = f"{{image: {TEST_IMAGE}, host: local, command: [sleep, '300'], proxy: {{publish: {port}, port: 80}}}}"
    write(
        tmp_path / "desired_state", host,
        f"proxies:\n  {prefix}-edge: {{host: local, image: '{PROXY_IMAGE}'}}\ncontainers:\n  {prefix}-api: {route}\n",
    )  # fmt: skip
    publishing(f"{prefix}-theirs", "green")
    created = plan(reconcile)[f"proxy.{prefix}-edge"]
    assert (created["action"], created["blocked"]) == ("create", None), created  # another state's: not ours to move

    engine.remove_container(f"{prefix}-theirs", force=True)
    publishing(f"{prefix}-mine", "blue")
    held = plan(reconcile)[f"proxy.{prefix}-edge"]
    assert held["action"] == "create" and held["blocked"], held
    assert f"host port {port} (container {prefix}-mine) is published by the container itself" in held["blocked"]["reason"]
