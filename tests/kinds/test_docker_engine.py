"""The Docker test infrastructure itself: the engine answers, the demo images are there and behave
as desired_state/vps/containers.yaml needs (and as the field report's bugs need them to misbehave)."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import pytest
from ruamel.yaml import YAML

from tests.support.docker_engine import DEMO_IMAGES, TEST_IMAGE, TEST_LABEL, image_files

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def run(client: docker.DockerClient, image: str, **options: Any) -> Any:
    options = {"network_mode": "host", "init": True, "detach": True, "labels": TEST_LABEL, **options}
    return client.containers.run(image, **options)


def assert_port_free(port: int) -> None:
    with socket.socket() as s:
        s.settimeout(1)
        in_use = s.connect_ex(("127.0.0.1", port)) == 0
    assert not in_use, f"127.0.0.1:{port} is already in use on this machine; the test needs it"


def fetch(url: str, deadline: float = 10.0) -> str:
    """The body at url, retried until it answers (the container is starting) or the deadline."""
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_the_engine_answers(docker_host: str, docker_client: docker.DockerClient) -> None:
    assert os.environ["DOCKER_HOST"] == docker_host
    assert docker_client.ping() is True
    assert docker_client.version()["ApiVersion"]


@pytest.mark.parametrize("name", [*DEMO_IMAGES, TEST_IMAGE])
def test_each_image_is_built_locally(docker_client: docker.DockerClient, name: str) -> None:
    image = docker_client.images.get(name)
    assert name in image.tags
    assert image.labels.get("reconciler.demo.digest")


def test_the_frontend_serves_on_8080_and_has_no_wget(docker_client: docker.DockerClient) -> None:
    files = image_files(docker_client, "reconciler-demo/frontend:1")
    names = {PurePosixPath(path).name for path in files}
    assert {"sh", "httpd", "ps", "grep"} <= names
    assert "wget" not in names  # the field report's healthcheck calls wget: it must be missing

    assert_port_free(8080)
    container = run(docker_client, "reconciler-demo/frontend:1")
    assert "quantum dashboard" in fetch("http://127.0.0.1:8080/")
    container.reload()
    assert container.status == "running"
    # Nor through the shell: /bin/sh is bash, which looks wget up on PATH (busybox's sh would run its
    # own wget applet, and the missing binary would go unnoticed).
    assert container.exec_run(["sh", "-c", "wget -q --spider http://127.0.0.1:8080/"]).exit_code == 127


def test_the_exporter_has_no_shell_and_serves_with_the_examples_command(docker_client: docker.DockerClient) -> None:
    files = image_files(docker_client, "reconciler-demo/redis-exporter:1")
    assert files["redis_exporter"].isfile()
    assert not {"sh", "bash", "ash"} & {PurePosixPath(path).name for path in files}
    assert "bin/sh" not in files

    assert_port_free(9121)
    run(
        docker_client,
        "reconciler-demo/redis-exporter:1",
        command=["--redis.addr=redis://127.0.0.1:6379", "--web.listen-address=127.0.0.1:9121"],
        environment={"REDIS_PASSWORD": "not-a-secret"},
    )
    assert "redis_up 1" in fetch("http://127.0.0.1:9121/metrics")


def test_the_redis_stand_in_listens_on_the_port_of_its_command(docker_client: docker.DockerClient) -> None:
    port = 16379  # not 6379: a real redis may run on this machine
    assert_port_free(port)
    container = run(
        docker_client,
        "reconciler-demo/redis:1",
        command=["redis-server", "--port", str(port), "--requirepass", "not-a-secret"],
    )
    healthcheck = ["sh", "-c", f"nc -z 127.0.0.1 {port} || exit 1"]  # as the example's CMD-SHELL runs it
    end = time.monotonic() + 10
    while (result := container.exec_run(healthcheck)).exit_code != 0:
        assert time.monotonic() < end, result.output
        time.sleep(0.1)
    assert container.exec_run(["sh", "-c", f"nc -z 127.0.0.1 {port + 1} || exit 1"]).exit_code == 1


def test_the_publishers_healthcheck_passes_only_while_it_publishes(docker_client: docker.DockerClient) -> None:
    """The example's check reads the publisher's own heartbeat: it passes once a tick reaches redis,
    and never for a publisher that cannot publish, though redis is up for both."""
    example = YAML(typ="safe").load((REPO / "desired_state" / "vps" / "containers.yaml").read_text())
    kind, command = example["containers"]["quantum_market_publisher"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    port = 16380  # not 6379: a real redis may run on this machine
    assert_port_free(port)
    assert_port_free(port + 1)
    run(docker_client, "reconciler-demo/redis:1", command=["redis-server", "--port", str(port)])
    publishing = run(
        docker_client, "reconciler-demo/publisher:1", environment={"REDIS_ADDR": f"127.0.0.1:{port}", "PUBLISH_INTERVAL": "1"}
    )
    stuck = run(
        docker_client, "reconciler-demo/publisher:1", environment={"REDIS_ADDR": f"127.0.0.1:{port + 1}", "PUBLISH_INTERVAL": "1"}
    )
    end = time.monotonic() + 15
    while (result := publishing.exec_run(["sh", "-c", command])).exit_code != 0:
        assert time.monotonic() < end, (result.output, publishing.logs())
        time.sleep(0.2)
    while b"not reachable" not in stuck.logs():  # it has tried, and failed, at least once
        assert time.monotonic() < end, stuck.logs()
        time.sleep(0.2)
    assert stuck.exec_run(["sh", "-c", command]).exit_code != 0


def test_sleep_under_init_stops_at_once(docker_client: docker.DockerClient) -> None:
    container = run(docker_client, TEST_IMAGE, command=["sleep", "300"], network_mode="none")
    container.reload()
    assert container.status == "running"
    started = time.monotonic()
    container.stop(timeout=10)
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"stop took {elapsed:.1f} s: SIGTERM did not reach sleep"
    container.reload()
    assert container.status == "exited"
