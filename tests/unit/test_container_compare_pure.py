"""The container comparison reads nothing: what it needs beyond the engine's record (the repository
files a container bind-mounts, its configs' contents and what runs at a changed config's target,
its secrets' origins and how each file the container holds compares with its value) is given to it
on the observation (SeenContainer.evidence, gathered by observe). Here compare runs on constructed
data with the engine, the network and the filesystem refused: a change of each kind is still
planned, as a user reads it."""

from __future__ import annotations

import builtins
import copy
import io
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest

from reconciler.kinds.base import Observation, RunContext
from reconciler.kinds.container.bind_files import FILES_LABEL
from reconciler.kinds.container.config_files import configs_label, desired_configs
from reconciler.kinds.container.evidence import Evidence
from reconciler.kinds.container.kind import ContainerKind, SeenContainer, observation
from reconciler.kinds.container.secret_files import described, secrets_label
from reconciler.kinds.ownership import Held, OwnedKind, compares, decide
from reconciler.model.spec import Container, State
from reconciler.plan.schema import CONTENT_DIFF, Action

FIXTURES = Path(__file__).parent / "fixtures"
RECORD: dict[str, Any] = json.loads((FIXTURES / "inspect_container.json").read_text())
IMAGE: dict[str, Any] = json.loads((FIXTURES / "inspect_image_busybox.json").read_text())
REPOSITORY = "/srv/nowhere/repository"  # never read: a read of it would fail anyway
SITE = f"{REPOSITORY}/conf/site.conf"

STATE = State.model_validate(
    {
        "secrets": {"db": {"file": f"{REPOSITORY}/secrets/db.txt"}, "token": {"environment": "APP_TOKEN"}},
        "configs": {"app": {"content": "level=debug\n"}},
    }
)
SPEC = Container.model_validate(
    {
        "image": "reconciler-test/busybox:1",
        "command": ["sleep", "300"],
        "environment": {"PASSWORD": "hunter2", "MODE": "fast"},
        "restart": "unless-stopped",
        "init": True,
        "network_mode": "none",
        "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": "5s", "timeout": "2s", "retries": 3, "start_period": "1s"},
        "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
        "labels": {"team": "ops"},
        "mem_limit": 64_000_000,
        "cpus": 0.5,
        "user": "1000:1000",
        "stop_signal": "SIGINT",
        "stop_grace_period": "3s",
        "volumes": ["fixture-data:/data", f"{SITE}:/etc/site.conf:ro"],
        "configs": [{"source": "app", "target": "/etc/app.conf"}],
        "secrets": ["db", "token"],
        "host": "local",
    }
)
ORIGINS = {"db": "file secrets/db.txt", "token": "environment APP_TOKEN"}
RUNNING_CONFIG = b"level=info\n"
SITE_DIGEST = "0123456789abcdef"
# what observe gathers when nothing changed: the label's own digests and contents, each file the same
UNCHANGED = Evidence(
    files={"conf/site.conf": SITE_DIGEST},
    config_contents={"app": RUNNING_CONFIG},
    configs_held={},
    secret_origins=ORIGINS,
    secrets_held={"/run/secrets/db": "same", "/run/secrets/token": "same"},
)


def record() -> dict[str, Any]:
    """The captured container as reconcile made it from SPEC: its labels record the bind-mounted
    file's digest, the config's content as it was then (RUNNING_CONFIG) and where each secret came from."""
    copied = copy.deepcopy(RECORD)
    labels = copied["Config"]["Labels"]
    labels.update(
        {"reconciler.managed": "true", "reconciler.state": "default", FILES_LABEL: json.dumps({"conf/site.conf": SITE_DIGEST})}
    )
    labels.update(configs_label(desired_configs(SPEC.configs, {"app": RUNNING_CONFIG})))
    labels.update(secrets_label({m.target: described(m, ORIGINS[m.source]) for m in SPEC.secrets}))
    copied["HostConfig"]["Binds"] = ["fixture-data:/data:rw", f"{SITE}:/etc/site.conf:ro"]
    copied["State"].update(Status="running", Running=True)
    return copied


def refuse(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError(f"compare read something: {args!r}")


@pytest.fixture
def kind(monkeypatch: pytest.MonkeyPatch) -> ContainerKind:
    """A container kind whose engine and AWS clients raise when touched."""
    ctx = RunContext(state=STATE, state_dir=Path("."), now=datetime.now(UTC))
    made = ContainerKind(ctx)
    monkeypatch.setattr(ctx, "docker", refuse)
    monkeypatch.setattr(ctx, "client", refuse)
    return made


@contextmanager
def nothing_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No file opened or looked at, no socket connected, while the block runs."""
    with monkeypatch.context() as blocked:
        for module, name in [(builtins, "open"), (io, "open"), (os, "open"), (os, "stat"), (os, "lstat"), (os, "scandir")]:
            blocked.setattr(module, name, refuse)
        blocked.setattr(socket.socket, "connect", refuse)
        blocked.setattr(socket, "create_connection", refuse)
        yield


def compared(kind: ContainerKind, monkeypatch: pytest.MonkeyPatch, evidence: Evidence) -> Action:
    seen: SeenContainer = observation("local", record(), IMAGE, IMAGE, "json-file", {}).data
    observed = Observation("digest", replace(seen, evidence=evidence))
    with nothing_read(monkeypatch):
        return decide(kind, "fixture", SPEC, observed)


def test_what_observe_gathered_unchanged_is_a_noop(kind: ContainerKind, monkeypatch: pytest.MonkeyPatch) -> None:
    action = compared(kind, monkeypatch, UNCHANGED)
    assert (action.action, action.changes) == ("noop", [])


def test_a_secret_changed_in_the_container_plans_a_replace_saying_only_that(
    kind: ContainerKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = compared(
        kind, monkeypatch, replace(UNCHANGED, secrets_held={**UNCHANGED.secrets_held, "/run/secrets/db": "changed"})
    )
    assert action.action == "replace"
    assert action.reasons[0] == "secret db at /run/secrets/db changed"
    assert [change.path for change in action.changes] == ["secrets./run/secrets/db"]


def test_a_secret_deleted_in_the_container_plans_a_replace_saying_it_is_gone(
    kind: ContainerKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = compared(
        kind, monkeypatch, replace(UNCHANGED, secrets_held={**UNCHANGED.secrets_held, "/run/secrets/token": "gone"})
    )
    assert action.action == "replace"
    assert action.reasons[0] == (
        "secret token at /run/secrets/token is gone from the container (deleted in it: a restart would not have it either)"
    )


def test_a_config_whose_content_changed_plans_a_replace_with_its_diff_from_what_runs(
    kind: ContainerKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = replace(UNCHANGED, config_contents={"app": b"level=debug\n"}, configs_held={"/etc/app.conf": RUNNING_CONFIG})
    action = compared(kind, monkeypatch, changed)
    assert action.action == "replace"
    assert action.reasons[0] == "config app at /etc/app.conf changed"
    diff = next(change.after for change in action.changes if change.path == f"configs./etc/app.conf{CONTENT_DIFF}")
    assert "-level=info" in diff.splitlines() and "+level=debug" in diff.splitlines()


def test_a_changed_config_whose_running_content_could_not_be_read_shows_a_diff_from_nothing(
    kind: ContainerKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = replace(UNCHANGED, config_contents={"app": b"level=debug\n"}, configs_held={"/etc/app.conf": None})
    diff = next(c.after for c in compared(kind, monkeypatch, changed).changes if c.path.endswith(CONTENT_DIFF))
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == ["+level=debug"]


def test_an_edited_bind_mounted_file_plans_a_replace_naming_it(kind: ContainerKind, monkeypatch: pytest.MonkeyPatch) -> None:
    action = compared(kind, monkeypatch, replace(UNCHANGED, files={"conf/site.conf": "fedcba9876543210"}))
    assert action.action == "replace"
    assert action.reasons[0] == "file conf/site.conf changed"


class Probe(OwnedKind[Any, Any]):
    """A kind that notes whether decide asked it to compare."""

    kind = "probe"
    marker = "label probe"

    def __init__(self, owner: str, unreachable: bool, unreadable: bool) -> None:
        self.owner, self.asked = owner, False
        self.unreachable = {"edge": "down"} if unreachable else {}
        self.unread = {"one": ("denied", "allow it")} if unreadable else {}

    def held(self, seen: Any) -> Held:
        return Held(self.owner, "other")  # type: ignore[arg-type]

    def create(self, name: str, desired: Any, frame: Action) -> Action:
        return frame

    def compare(self, name: str, desired: Any, seen: Any, frame: Action) -> Action:
        self.asked = True
        return frame


@pytest.mark.parametrize("owner", ["ours", "legacy", "another state", "unmanaged"])
@pytest.mark.parametrize("declared", [None, False, True])  # not declared, declared, declared external
@pytest.mark.parametrize("unreachable", [False, True])
@pytest.mark.parametrize("unreadable", [False, True])
def test_observe_gathers_for_exactly_the_resources_decide_compares(
    owner: str, declared: bool | None, unreachable: bool, unreadable: bool
) -> None:
    """ownership.compares (which containers observe gathers evidence for) says what decide does."""
    probe = Probe(owner, unreachable, unreadable)
    desired = None if declared is None else SimpleNamespace(host="edge", external=declared)
    seen = SimpleNamespace(host="edge")
    decide(probe, "one", desired, Observation("digest", seen))
    assert compares(probe, "one", desired, seen) == probe.asked
