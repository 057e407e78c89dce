"""What observing an engine costs it and the host (clients/transport.py, the container kind's
observe): the API version asked without making the engine run anything, one kept connection for
every call instead of one per URL, and each image inspected once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from reconciler.clients.docker import Engine, connect
from reconciler.model.spec import Host
from tests.support.cli import Reconcile
from tests.support.docker_engine import DEMO_IMAGES, TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


@pytest.fixture
def engine(docker_host: str) -> Iterator[Engine]:
    made = connect("local", Host(docker=docker_host), 4)
    yield made
    made.close()


def test_the_api_version_is_the_one_the_engine_states(engine: Engine, docker_client: docker.DockerClient) -> None:
    assert engine.api_version == docker_client.version()["ApiVersion"]


def test_calls_to_many_addresses_share_one_kept_connection(engine: Engine, docker_host: str) -> None:
    if not docker_host.startswith("unix://"):
        pytest.skip("the SDK's per-URL pools are those of its unix:// and ssh:// transports")
    used: list[object] = []  # every socket a call left in the pool (held, so no two are one object by chance)
    for n in range(30):  # 30 URLs: the SDK kept 25 pools, one per URL, each with a connection of its own
        with pytest.raises(docker.errors.NotFound):
            engine.inspect_container(f"reconcile-no-such-container-{n}")
        pools = engine.get_adapter(engine.base_url).pools  # type: ignore[attr-defined]
        assert len(pools) == 1
        used += [c.sock for c in list(pools["any"].pool.queue) if c is not None and c.sock is not None]
    assert len({id(sock) for sock in used}) == 1  # calls one after another: one socket, opened once


@pytest.fixture
def moving_tag(docker_client: docker.DockerClient) -> Iterator[str]:
    """A tag of this test's own, on the test image; the test may move it."""
    repository = f"reconciler-test/moving-{uuid.uuid4().hex[:6]}"
    docker_client.api.tag(TEST_IMAGE, repository, "1")
    yield f"{repository}:1"
    docker_client.api.remove_image(f"{repository}:1")


def test_a_tag_moved_to_another_image_plans_a_replace(
    tmp_path: Path, reconcile: Reconcile, moving_tag: str, docker_client: docker.DockerClient
) -> None:
    """The image a container runs is inspected by its id only when the declared tag names another
    one: a no-op plan inspects the tag alone, a moved tag still shows as a change of image."""
    name = f"moving-{uuid.uuid4().hex[:6]}"
    (tmp_path / "desired_state" / "containers.yaml").write_text(
        f"containers:\n  {name}:\n    image: {moving_tag}\n    command: [sleep, '300']\n"
        "    network_mode: none\n    state: stopped\n"
    )
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    unchanged = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr

    repository, _, tag = moving_tag.rpartition(":")
    docker_client.api.tag(DEMO_IMAGES[1], repository, tag, force=True)
    moved = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert moved.returncode == 2, moved.stdout + moved.stderr
    assert f"container.{name}" in moved.stdout and "1 to replace" in moved.stdout, moved.stdout
    assert "image" in moved.stdout
