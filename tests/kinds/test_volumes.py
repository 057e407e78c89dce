"""Named volumes on a real engine, as a compose user declares them: top-level volumes:, mounted by
name. Made and labelled before the container that mounts them; removed only once no longer declared
and no container uses them (until then a blocked delete naming the container); the data survives a
container's replace."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile
from tests.support.compose_oracle import compose
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def container(name: str, volume: str, command: str = "sleep 300") -> str:
    return (
        f"  {name}: {{image: {TEST_IMAGE}, command: [sh, -c, '{command}'], network_mode: none, "
        f"stop_grace_period: 1s, volumes: ['{volume}:/data']}}\n"
    )


def write(state: Path, volumes: list[str], containers: str) -> None:
    text = "volumes:\n" + "".join(f"  {v}:\n" for v in volumes) if volumes else ""
    (state / "state.yaml").write_text(text + ("containers:\n" + containers if containers else ""))


def actions(reconcile: Reconcile) -> dict[str, dict[str, object]]:
    planned = reconcile("plan", "desired_state", "--format", "json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    return {a["address"]: a for a in json.loads(planned.stdout)["actions"]}


def test_a_volume_is_made_labelled_before_its_container_and_removed_only_once_unused(
    state: Path, reconcile: Reconcile, docker_client: docker.DockerClient, prefix: str
) -> None:
    volume, app = f"{prefix}-data", f"{prefix}-app"
    write(state, [volume], container(app, volume, "echo kept > /data/file; sleep 300"))
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    labels = docker_client.api.inspect_volume(volume)["Labels"]
    assert {k: labels[k] for k in ("reconciler.managed", "reconciler.address", "reconciler.state")} == {
        "reconciler.managed": "true", "reconciler.address": f"volume.{volume}", "reconciler.state": "default",
    }  # fmt: skip
    mounts = docker_client.api.inspect_container(app)["Mounts"]
    assert [(m["Type"], m["Name"]) for m in mounts] == [("volume", volume)]
    assert reconcile("plan", "desired_state", "--detailed-exitcode").returncode == 0

    write(state, [], container(app, volume))  # the volume is no longer declared; the container still mounts it
    planned = actions(reconcile)[f"volume.{volume}"]
    assert planned["action"] == "delete" and planned["blocked"], planned
    assert f"container {app} uses it" in planned["blocked"]["reason"]  # type: ignore[index]
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert volume in {v.name for v in docker_client.volumes.list()}  # a blocked delete is not applied

    write(state, [], "")  # and now the container goes too: the volume after it
    planned = actions(reconcile)[f"volume.{volume}"]
    assert (planned["action"], planned["blocked"], planned["depends_on"]) == ("delete", None, [f"container.{app}"])
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert volume not in {v.name for v in docker_client.volumes.list()}


def test_an_undeclared_volume_that_is_not_ours_is_never_touched(
    state: Path, reconcile: Reconcile, docker_client: docker.DockerClient, prefix: str
) -> None:
    """A volume the engine made for a container's first mount (or compose, or a person): not ours."""
    docker_client.volumes.create(f"{prefix}-theirs", labels={"reconciler.test": "1"})
    write(state, [], "")
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"{prefix}-theirs" in {v.name for v in docker_client.volumes.list()}


def engine_view(client: docker.DockerClient, name: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """A volume as the engine holds it: its driver, options and the labels neither tool adds itself."""
    record = client.api.inspect_volume(name)
    labels = {k: v for k, v in (record.get("Labels") or {}).items() if not k.startswith(("reconciler.", "com.docker.compose."))}
    return record["Driver"], dict(record.get("Options") or {}), labels


def test_a_volume_is_made_with_its_driver_options_and_labels_as_compose_makes_it_and_a_change_is_a_blocked_replace(
    state: Path, tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient, docker_host: str, prefix: str
) -> None:
    settings = "driver: local\n    driver_opts: {type: tmpfs, device: tmpfs, o: size=1m}\n    labels: {tier: db}\n"
    ours, theirs = f"{prefix}-data", f"{prefix}-composed"
    (state / "state.yaml").write_text(f"volumes:\n  {ours}:\n    {settings}containers:\n{container(f'{prefix}-app', ours)}")
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(
        f"volumes:\n  data:\n    name: {theirs}\n    {settings}services:\n"
        f"  app: {{image: {TEST_IMAGE}, command: [sleep, '300'], network_mode: none, volumes: ['data:/data']}}\n"
    )
    made = compose("up", "--no-start", project_dir=tmp_path, file=compose_file, project=prefix, host=docker_host)
    assert made.returncode == 0, made.stderr
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr

    assert engine_view(docker_client, ours) == engine_view(docker_client, theirs)
    assert engine_view(docker_client, ours)[1] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    assert reconcile("plan", "desired_state", "--detailed-exitcode").returncode == 0

    (state / "state.yaml").write_text((state / "state.yaml").read_text().replace("size=1m", "size=2m"))
    planned = actions(reconcile)[f"volume.{ours}"]
    assert (planned["action"], planned["reasons"]) == ("replace", ["driver_opts changed"]), planned
    assert "would lose its data" in planned["blocked"]["reason"], planned  # type: ignore[index]
    assert f"docker volume rm {ours}" in planned["blocked"]["remedy"], planned  # type: ignore[index]
    compose("down", project_dir=tmp_path, file=compose_file, project=prefix, host=docker_host)
    docker_client.volumes.get(theirs).remove()


def test_a_volume_name_other_than_its_key_is_an_error_at_its_line(state: Path, reconcile: Reconcile) -> None:
    (state / "state.yaml").write_text("volumes:\n  data:\n    name: app_data\n")
    checked = reconcile("validate", "desired_state")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "state.yaml:3:11: volumes.data.name: a volume's engine name is its key here" in checked.stdout + checked.stderr
    assert "rename the key to 'app_data'" in checked.stdout + checked.stderr
