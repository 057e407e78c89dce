"""The import mapping, pure: an inspected container (a record captured from a real engine) → a
declaration that the container kind reads back as the very same container; no secret in the YAML."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from reconciler.imports.containers import import_container
from reconciler.imports.yaml_out import VariableNames, to_yaml, with_placeholders
from reconciler.kinds.container.view import ImageDefaults

FIXTURES = Path(__file__).parent / "fixtures"
RECORD: dict[str, Any] = json.loads((FIXTURES / "inspect_container.json").read_text())
IMAGE = ImageDefaults.from_inspect(json.loads((FIXTURES / "inspect_image_busybox.json").read_text()))


def test_a_configured_container_is_declared_exactly_and_only_where_it_differs_from_the_image() -> None:
    imported = import_container(RECORD, IMAGE, "json-file", {})
    assert imported.problem is None and imported.differs == []
    assert imported.spec["image"] == "reconciler-test/busybox:1"
    assert "PATH" not in imported.spec["environment"]  # the image's own
    assert imported.spec["healthcheck"]["interval"] == "5s"


def test_environment_values_become_placeholders_and_a_literal_dollar_is_escaped() -> None:
    record = copy.deepcopy(RECORD)
    record["Config"]["Env"] = [*record["Config"]["Env"], "TOKEN=hunter2-secret"]
    record["Config"]["Cmd"] = ["sh", "-c", "echo $HOME"]
    spec = dict(import_container(record, IMAGE, "json-file", {}).spec)
    names = VariableNames()
    spec["environment"] = with_placeholders("my-app", spec["environment"], names)
    text = to_yaml(["header"], {"containers": {"my-app": spec}})
    assert "hunter2-secret" not in text
    assert "TOKEN: ${MY_APP_TOKEN}" in text
    assert "echo $$HOME" in text


def test_a_container_the_format_cannot_describe_is_named_not_guessed() -> None:
    record = copy.deepcopy(RECORD)
    record["HostConfig"]["NetworkMode"] = "my-user-network"
    assert "network_mode" in (import_container(record, IMAGE, "json-file", {}).problem or "")


def test_compose_fields_set_on_a_container_are_declared_and_read_back_as_the_same() -> None:
    record = copy.deepcopy(RECORD)
    record["Config"].update(Hostname="box", WorkingDir="/srv", ExposedPorts={"8080/tcp": {}}, Tty=True)
    record["HostConfig"].update(
        CapAdd=["CAP_NET_ADMIN"], ReadonlyRootfs=True, ExtraHosts=["db:10.0.0.5"], PidsLimit=64,
        Ulimits=[{"Name": "nofile", "Soft": 1024, "Hard": 2048}], ShmSize=32 * 1024**2, Tmpfs={"/run": "size=1m"},
    )  # fmt: skip
    imported = import_container(record, IMAGE, "json-file", {})
    assert imported.problem is None and imported.differs == []
    assert {k: imported.spec[k] for k in ("hostname", "working_dir", "cap_add", "read_only", "pids_limit", "expose")} == {
        "hostname": "box", "working_dir": "/srv", "cap_add": ["NET_ADMIN"], "read_only": True, "pids_limit": 64,
        "expose": ["8080/tcp"],
    }  # fmt: skip
    assert imported.spec["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}}


def test_a_container_on_the_engines_bridge_is_declared_there_so_the_default_network_does_not_move_it() -> None:
    from reconciler.model.spec import State

    record = copy.deepcopy(RECORD)
    record["HostConfig"]["NetworkMode"] = "bridge"
    imported = import_container(record, IMAGE, "json-file", {})
    assert imported.problem is None and imported.spec["network_mode"] == "bridge"
    state = State.model_validate({"containers": {"app": imported.spec}})
    assert state.containers["app"].networks == {} and not state.networks
