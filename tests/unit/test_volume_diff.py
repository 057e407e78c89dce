"""The volume kind's diff, pure: whose a volume is decides (kinds/ownership.py); a volume of ours no
longer declared is removed after the containers this plan removes that mount it, and blocked, naming
them, by any other container that does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.kinds.base import Observation, RunContext
from reconciler.kinds.volume.kind import VolumeKind, seen_volume
from reconciler.model.spec import State
from reconciler.plan.schema import Action


def diff(state: dict[str, Any], name: str, labels: dict[str, str] | None, users: tuple[str, ...] = ()) -> Action:
    loaded = State.model_validate({"settings": {"name": "blue"}, **state})
    ctx = RunContext(state=loaded, state_dir=Path("."), now=datetime.now(UTC))
    record = {"Name": name, "Labels": labels}
    observed = Observation("d", seen_volume("local", record, "blue", users)) if labels is not None else None
    return VolumeKind(ctx).diff(name, loaded.volumes.get(name), observed)


def ours(state: str = "blue") -> dict[str, str]:
    return {"reconciler.managed": "true", "reconciler.address": "volume.data", "reconciler.state": state}


APP = {"image": "busybox", "volumes": ["data:/data"]}


def test_a_declared_volume_that_is_missing_is_created() -> None:
    assert diff({"volumes": {"data": None}}, "data", None).action == "create"


def test_another_states_volume_is_a_blocked_create_naming_it_and_never_a_delete() -> None:
    declared = diff({"volumes": {"data": None}}, "data", ours("green"))
    assert declared.action == "create" and declared.blocked is not None
    assert "belongs to state green" in declared.blocked.reason
    assert diff({}, "data", ours("green")).action == "noop"


def test_an_unmanaged_volume_of_the_same_name_blocks_and_says_external() -> None:
    planned = diff({"volumes": {"data": None}}, "data", {})
    assert planned.action == "create" and planned.blocked is not None
    assert "external: true" in (planned.blocked.remedy or "")


def test_ours_no_longer_declared_but_mounted_by_a_declared_container_is_a_blocked_delete_naming_it() -> None:
    planned = diff({"containers": {"app": APP}}, "data", ours())
    assert planned.action == "delete" and planned.blocked is not None
    assert planned.blocked.reason == "volume data is no longer declared, but container app uses it"


def test_ours_no_longer_declared_and_used_by_a_container_on_the_engine_names_it() -> None:
    planned = diff({}, "data", ours(), users=("somebody-elses",))
    assert planned.blocked is not None and "container somebody-elses uses it" in planned.blocked.reason


def test_ours_no_longer_declared_and_unused_is_deleted() -> None:
    planned = diff({}, "data", ours())
    assert (planned.action, planned.blocked, planned.reasons) == ("delete", None, ["no longer declared"])
