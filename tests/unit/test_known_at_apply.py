"""A plan made without an application secret (CI plans pull requests without them): what uses it
is "(known at apply)", everything else is planned, the secret never shows in any output, and the
saved plan's stale check lets apply decide only what the plan could not know."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.apply.executor import check_still_true, restrict
from reconciler.errors import ReconcileError, StalePlan
from reconciler.kinds.container.kind import config_hash
from reconciler.model.load import load_state
from reconciler.model.sensitive import Sensitive
from reconciler.model.unknown import KNOWN_AT_APPLY, Unknown
from reconciler.plan.schema import Action, Change, Plan, StateInfo, Summary
from reconciler.planner import Planned
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_plan
from tests.unit.test_container_diff import diff, one_line, record, spec

SECRET = Unknown(("PASSWORD",), secret=True)


def test_a_new_container_is_created_with_the_value_known_at_apply() -> None:
    action = diff(spec(environment={"PASSWORD": SECRET, "MODE": "fast"}), None)
    assert action.action == "create"
    shown = {c.path: c.after for c in action.changes}
    assert shown["environment.PASSWORD"] == KNOWN_AT_APPLY
    assert shown["environment.MODE"] == "fast"
    assert action.known_at_apply == ["environment.PASSWORD"]


def test_a_running_container_that_matches_on_everything_known_is_a_noop_that_says_so() -> None:
    action = diff(spec(environment={"PASSWORD": SECRET, "MODE": "fast"}), record())
    assert one_line(action) == "noop container.fixture"
    assert action.known_at_apply == ["environment.PASSWORD"]
    assert "known at apply: environment.PASSWORD" in action.reasons[0]
    assert "hunter2" not in action.model_dump_json()  # what runs now may be the secret: never shown


def test_a_known_change_is_planned_and_the_unknown_one_shown_beside_it() -> None:
    action = diff(spec(environment={"PASSWORD": SECRET, "MODE": "slow"}), record())
    assert one_line(action) == (
        'replace container.fixture (environment.MODE: "(sensitive)" → "slow", '
        'environment.PASSWORD: "(sensitive)" → "(known at apply)")'
    )


def test_an_unknown_word_in_a_command_never_shows_what_runs() -> None:
    action = diff(spec(command=["sleep", Unknown(("SECONDS",))]), record())
    assert (action.action, action.known_at_apply) == ("noop", ["command"])


def test_a_spec_with_an_unknown_is_never_hashed() -> None:
    with pytest.raises(ReconcileError):
        config_hash(spec(environment={"PASSWORD": SECRET}))
    assert config_hash(spec()).startswith("sha256:")


# --- the saved plan ----------------------------------------------------------------------------------


def plan_of(*actions: Action) -> Plan:
    return Plan(
        tool_version="0.1.0",
        state=StateInfo(dir="desired_state", digest="sha256:state"),
        summary=Summary.of(list(actions)),
        actions=list(actions),
    )


def redis(kind: str, *changes: Change, waiting: tuple[str, ...] = ("environment.PASSWORD",)) -> Action:
    return Action(
        address="container.redis", type="container", action=kind,  # type: ignore[arg-type]
        observed_digest="sha256:o", changes=list(changes), known_at_apply=list(waiting),
    )  # fmt: skip


ROTATED = Change(path="environment.PASSWORD", before="(sensitive)", after="(sensitive)")
RESTART = Change(path="restart", before="no", after="always")


@pytest.mark.parametrize(
    ("saved", "fresh"),
    [
        (redis("noop"), redis("noop", waiting=())),  # the secret is what runs
        (redis("noop"), redis("replace", ROTATED, waiting=())),  # the secret was rotated: apply replaces
        (redis("update", RESTART), redis("replace", RESTART, ROTATED, waiting=())),
    ],
    ids=["same-secret", "rotated-secret", "known-change-and-rotated"],
)
def test_apply_decides_what_the_plan_could_not_know(saved: Action, fresh: Action) -> None:
    check_still_true(plan_of(saved), plan_of(fresh))
    restricted = restrict(Planned(plan_of(fresh), {}, {}), plan_of(saved))
    assert [a.address for a in restricted.plan.actions] == (["container.redis"] if fresh.is_change else [])


def test_a_change_the_reviewer_did_not_see_is_stale() -> None:
    with pytest.raises(StalePlan, match=r"container\.redis"):
        check_still_true(plan_of(redis("noop")), plan_of(redis("update", RESTART, waiting=())))


# --- every output ----------------------------------------------------------------------------------

STATE = """\
settings: {secrets: [REDIS_PASSWORD]}
containers:
  cache:
    image: redis:7
    command: [redis-server, --requirepass, "${REDIS_PASSWORD}"]
    environment: {REDIS_PASSWORD: "${REDIS_PASSWORD}", LOG_LEVEL: "${LOG_LEVEL}"}
"""


def outputs(plan: Plan) -> dict[str, str]:
    return {"text": render_plan(plan).plain, "json": plan.model_dump_json(), "markdown": render_markdown(plan)}


def planned(tmp_path: Path, environ: dict[str, str], mode: str) -> tuple[Plan, Any]:
    (tmp_path / "state.yaml").write_text(STATE)
    loaded = load_state(tmp_path, environ=environ, mode=mode)  # type: ignore[arg-type]
    cache = loaded.state.containers["cache"]
    action = diff(cache.model_copy(update={"host": "local"}), None)
    return plan_of(action), cache


def test_a_secret_is_redacted_and_a_plain_variable_shown_in_every_format(tmp_path: Path) -> None:
    plan, cache = planned(tmp_path, {"REDIS_PASSWORD": "Zq-secret-7f3a", "LOG_LEVEL": "verbose"}, "apply")
    assert isinstance(cache.environment["REDIS_PASSWORD"], Sensitive)
    for name, text in outputs(plan).items():
        assert "Zq-secret-7f3a" not in text, name
        assert "(sensitive)" in text, name
        assert "verbose" in text, name
    assert json.loads(plan.model_dump_json())["actions"][0]["known_at_apply"] == []


def test_without_the_secret_every_format_says_known_at_apply(tmp_path: Path) -> None:
    plan, _ = planned(tmp_path, {"LOG_LEVEL": "verbose"}, "plan")
    for name, text in outputs(plan).items():
        assert KNOWN_AT_APPLY in text, name
        assert "verbose" in text, name
    assert plan.actions[0].known_at_apply == ["command", "environment.REDIS_PASSWORD"]


def test_the_text_and_markdown_name_what_waits_for_apply_when_nothing_known_changes() -> None:
    plan = plan_of(redis("noop"))
    assert "Known at apply" in render_plan(plan).plain
    assert "container.redis: environment.PASSWORD" in render_plan(plan).plain
    assert "### Known at apply" in render_markdown(plan)
    assert not plan.has_changes


def test_a_plain_value_that_moved_between_plan_and_apply_is_stale(tmp_path: Path) -> None:
    """The reviewed plan showed MODE=fast; at apply the environment says slow: refused."""
    reviewed = redis("replace", Change(path="environment.MODE", before="(sensitive)", after="fast"), waiting=())
    moved = redis("replace", Change(path="environment.MODE", before="(sensitive)", after="slow"), waiting=())
    with pytest.raises(StalePlan, match=r"container\.redis"):
        check_still_true(plan_of(reviewed), plan_of(moved))
    check_still_true(plan_of(reviewed), plan_of(reviewed))


def test_the_state_digest_covers_the_plain_values_plan_needs_never_a_secret(tmp_path: Path) -> None:
    from reconciler.plan.digest import state_digest

    (tmp_path / "state.yaml").write_text(STATE.replace("image: redis:7", "image: redis:${TAG}"))

    def digest(environ: dict[str, str], mode: str = "apply") -> str:
        loaded = load_state(tmp_path, environ={"LOG_LEVEL": "x", **environ}, mode=mode)  # type: ignore[arg-type]
        assert all(name != "REDIS_PASSWORD" for name, _ in loaded.variables)
        return state_digest(loaded.directory, loaded.paths, loaded.variables)

    planned = digest({"TAG": "7"}, "plan")
    assert digest({"TAG": "7", "REDIS_PASSWORD": "a"}) == planned  # the secret, known at apply, is not in it
    assert digest({"TAG": "7", "REDIS_PASSWORD": "b", "LOG_LEVEL": "y"}) == planned  # nor a value that may wait
    assert digest({"TAG": "8", "REDIS_PASSWORD": "a"}) != planned  # the image the reviewer saw is not this one


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_.:/@+=", min_size=6, max_size=40))
def test_no_secret_value_reaches_any_format(value: str) -> None:
    secret = f"Zq{value}"
    for desired, inspected in ((spec(environment={"PASSWORD": Sensitive(secret)}), record()), (spec(), None)):
        changed = desired.model_copy(update={"command": ("sleep", Sensitive(secret))})
        plan = plan_of(diff(changed, inspected))
        for name, text in outputs(plan).items():
            assert secret not in text, name
