"""The container diff, pure: desired spec + an inspected container (a record captured from a real
Docker 20.10 engine, created by reconcile's own create path) → the action a user sees. Docker's
defaults (image env and labels, nanoseconds, memory swap, port maps) never show as changes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds.base import RunContext
from reconciler.kinds.container.kind import ContainerKind, observation
from reconciler.model.sensitive import Sensitive
from reconciler.model.spec import Container, State
from reconciler.plan.schema import Action

FIXTURES = Path(__file__).parent / "fixtures"
RECORD: dict[str, Any] = json.loads((FIXTURES / "inspect_container.json").read_text())
IMAGE: dict[str, Any] = json.loads((FIXTURES / "inspect_image_busybox.json").read_text())
RECORD["Config"]["Labels"]["reconciler.managed"] = "true"  # captured under another value, away from test cleanup
RECORD["Config"]["Labels"]["reconciler.state"] = "default"  # made by the state of that name (the default)
RECORD["State"].update(Status="running", Running=True)  # captured between create and start

SPEC: dict[str, Any] = {
    "image": "reconciler-test/busybox:1",
    "command": ["sleep", "300"],
    "environment": {"PASSWORD": Sensitive("hunter2"), "MODE": "fast"},
    "restart": "unless-stopped",
    "init": True,
    "network_mode": "none",
    "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": "5s", "timeout": "2s", "retries": 3, "start_period": "1s"},
    "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
    "labels": {"team": "ops"},
    "mem_limit": 64_000_000,  # what the recorded container has: 64MB before sizes were docker's (binary)
    "cpus": 0.5,
    "user": "1000:1000",
    "stop_signal": "SIGINT",
    "stop_grace_period": "3s",
    "volumes": ["fixture-data:/data", "/etc/ssl:/etc/ssl:ro"],
    "host": "local",
}

KIND = ContainerKind(RunContext(state=State(), state_dir=Path("."), now=datetime.now(UTC)))


def spec(**changes: Any) -> Container:
    return Container.model_validate({**SPEC, **changes})


def record(edit: Any = None) -> dict[str, Any]:
    copied = copy.deepcopy(RECORD)
    if edit:
        edit(copied)
    return copied


def diff(desired: Container | None, inspected: dict[str, Any] | None, tag_image: dict[str, Any] | None = IMAGE) -> Action:
    seen = observation("local", inspected, tag_image, IMAGE, "json-file", {}) if inspected else None
    return KIND.diff("fixture", desired, seen)


def one_line(action: Action) -> str:
    changes = ", ".join(f"{c.path}: {json.dumps(c.before)} → {json.dumps(c.after)}" for c in action.changes)
    return f"{action.action} {action.address}" + (f" ({changes})" if changes else "")


def test_the_spec_it_was_created_from_is_a_noop() -> None:
    assert one_line(diff(spec(), record())) == "noop container.fixture"


def test_image_defaults_do_not_show_as_changes() -> None:
    """No command and no user declared: the image's CMD and USER are what the engine reports."""

    def as_image_defaults(r: dict[str, Any]) -> None:
        r["Config"]["Cmd"] = ["sh"]
        r["Config"]["User"] = ""

    desired = spec(command=None, user=None)
    assert one_line(diff(desired, record(as_image_defaults))) == "noop container.fixture"


def test_restart_drift_made_by_hand_is_an_update_in_place() -> None:
    def by_hand(r: dict[str, Any]) -> None:
        r["HostConfig"]["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}

    action = diff(spec(), record(by_hand))
    assert one_line(action) == 'update container.fixture (restart: "no" → "unless-stopped")'
    assert action.reasons == ["restart changed"]


def test_memory_and_cpus_change_in_place() -> None:
    action = diff(spec(mem_limit="128MB", cpus=1), record())
    assert one_line(action) == "update container.fixture (mem_limit: 64000000 → 134217728, cpus: 0.5 → 1.0)"


def test_removing_a_memory_limit_replaces() -> None:
    assert diff(spec(mem_limit=None), record()).action == "replace"


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        (
            {"healthcheck": {**SPEC["healthcheck"], "test": ["CMD", "true"]}},
            'healthcheck.test: ["CMD-SHELL", "true"] → ["CMD", "true"]',
        ),
        ({"healthcheck": {**SPEC["healthcheck"], "interval": "10s"}}, "healthcheck.interval: 5.0 → 10.0"),
        ({"command": ["sleep", "400"]}, 'command: ["sleep", "300"] → ["sleep", "400"]'),
        ({"labels": {"team": "dev"}}, 'labels.team: "ops" → "dev"'),
        ({"volumes": ["fixture-data:/data"]}, 'volumes: ["/etc/ssl:/etc/ssl:ro", "fixture-data:/data"] → ["fixture-data:/data"]'),
        ({"init": False}, "init: true → false"),
        ({"stop_grace_period": "10s"}, "stop_grace_period: 3 → 10"),
        (
            {"logging": {"driver": "json-file", "options": {"max-size": "20m", "max-file": "3"}}},
            'logging.options.max-size: "10m" → "20m"',
        ),
        ({"network_mode": "host"}, 'network_mode: "none" → "host"'),
        ({"image": "reconciler-test/busybox:2"}, 'image: "reconciler-test/busybox:1" → "reconciler-test/busybox:2"'),
    ],
)
def test_a_field_that_docker_cannot_change_in_place_replaces(changes: dict[str, Any], line: str) -> None:
    action = diff(spec(**changes), record())
    assert action.action == "replace"
    assert one_line(action) == f"replace container.fixture ({line})"


def test_a_secret_is_compared_by_value_and_never_shown() -> None:
    action = diff(spec(environment={"PASSWORD": Sensitive("rotated"), "MODE": "fast"}), record())
    assert one_line(action) == 'replace container.fixture (environment.PASSWORD: "(sensitive)" → "(sensitive)")'
    assert "hunter2" not in action.model_dump_json()
    assert "rotated" not in action.model_dump_json()


def test_an_old_environment_value_is_never_shown() -> None:
    action = diff(spec(environment={"MODE": "fast"}), record())
    assert one_line(action) == 'replace container.fixture (environment.PASSWORD: "(sensitive)" → null)'


def test_a_stopped_container_that_should_run_is_started() -> None:
    def stopped(r: dict[str, Any]) -> None:
        r["State"]["Status"] = "exited"

    action = diff(spec(), record(stopped))
    assert (action.action, action.reasons) == ("update", ["start"])


def test_a_retagged_image_replaces() -> None:
    newer = {**IMAGE, "Id": "sha256:" + "b" * 64}
    action = diff(spec(), record(), tag_image=newer)
    assert action.action == "replace"
    assert action.changes[0].path == "image"
    assert "bbbbbbbbbbbb" in action.changes[0].after


def test_create_shows_what_was_declared_with_secrets_hidden() -> None:
    action = diff(spec(), None)
    assert action.action == "create"
    shown = {c.path: c.after for c in action.changes}
    assert shown["environment.PASSWORD"] == "(sensitive)"
    assert shown["healthcheck.interval"] == "5s"
    assert shown["image"] == "reconciler-test/busybox:1"
    assert "host" not in shown


def test_absent_and_missing_is_a_noop_and_absent_but_present_is_a_delete() -> None:
    assert diff(spec(state="absent"), None).action == "noop"
    assert one_line(diff(spec(state="absent"), record())) == 'delete container.fixture (state: "running" → "absent")'


def test_a_managed_container_no_longer_declared_is_deleted() -> None:
    action = diff(None, record())
    assert (action.action, action.reasons) == ("delete", ["no longer declared"])


def test_a_container_with_the_name_that_is_not_ours_is_blocked_never_touched() -> None:
    def unmanaged(r: dict[str, Any]) -> None:
        r["Config"]["Labels"] = {}

    action = diff(spec(), record(unmanaged))
    assert action.action == "create"
    assert action.blocked is not None
    assert "not managed by reconcile" in action.blocked.reason
    assert "reconcile import" in action.blocked.remedy
    assert diff(None, record(unmanaged)).action == "noop"


def test_depends_on_and_a_shared_network_are_dependencies() -> None:
    action = diff(spec(depends_on=["db"], network_mode="container:vpn"), None)
    assert action.depends_on == ["container.db", "container.vpn"]


def test_the_observed_digest_tracks_the_container_not_its_health() -> None:
    def unhealthy(r: dict[str, Any]) -> None:
        r["State"]["Health"] = {"Status": "unhealthy"}

    def recreated(r: dict[str, Any]) -> None:
        r["Id"] = "f" * 64

    assert diff(spec(), record()).observed_digest == diff(spec(), record(unhealthy)).observed_digest
    assert diff(spec(), record()).observed_digest != diff(spec(), record(recreated)).observed_digest
    assert diff(spec(), record()).observed_digest != diff(spec(), None).observed_digest
