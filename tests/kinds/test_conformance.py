"""The rules every kind must keep, run over the kinds registry (reconciler/kinds KINDS), so a kind is
tested here without being named: each gives a factory in tests/kinds/conformance/ (or says why it
cannot). On one real engine, state `blue` beside resources made as state `green`'s, as legacy ones
(reconcile's marker, no state name) and as unmanaged ones:

- another state's resource is never planned, not even as a delete; a declaration of its name is a
  blocked create naming that state;
- a legacy one is claimed by the state that declares it and never deleted by one that does not;
- an unmanaged one is adopted or blocked, never created over or deleted;
- a host or region that cannot be read blocks only the resources in it;
- a create killed once made (before its intent is closed) is finished by the next apply, not doubled;
- a reference to a host that is not declared is an error at its place;
- plan changes nothing."""

from __future__ import annotations

import importlib
import json
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler.clients.crashpoint import KILL_AT
from reconciler.kinds import KINDS
from tests.kinds.conformance import OTHER_STATE, Factory, Owner, factory_of
from tests.support.cli import Reconcile

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

OWNERS: tuple[Owner, ...] = ("another state", "legacy", "unmanaged")
GONE = "unix:///nonexistent/reconcile-conformance.sock"


@pytest.fixture(params=sorted(KINDS))
def factory(request: pytest.FixtureRequest) -> Factory:
    made = factory_of(request.param, request)
    if isinstance(made, str):
        pytest.skip(f"{request.param}: {made}")
    return made


@pytest.fixture
def names() -> dict[str, str]:
    prefix = f"c{uuid.uuid4().hex[:6]}"
    return {owner: f"{prefix}-{owner.split()[-1]}" for owner in OWNERS} | {"new": f"{prefix}-new", "far": f"{prefix}-far"}


def write(tmp_path: Path, docker_host: str, factory: Factory, declared: dict[str, str] | str) -> None:
    """State blue: hosts `local` (the test engine) and `gone` (no engine), and ``declared`` (name →
    place), or one declaration written out."""
    text = f"settings: {{name: blue}}\nhosts:\n  local: {{docker: '{docker_host}'}}\n  gone: {{docker: '{GONE}'}}\n"
    if isinstance(declared, str):
        text += f"{factory.section}:\n  {declared}\n"
    elif declared:
        text += f"{factory.section}:\n" + "".join(f"  {n}: {factory.declare(n, h)}\n" for n, h in declared.items())
    (tmp_path / "desired_state" / "state.yaml").write_text(text)


def plan(reconcile: Reconcile) -> dict[str, dict[str, Any]]:
    planned = reconcile("plan", "desired_state", "--format", "json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    return {action["address"]: action for action in json.loads(planned.stdout)["actions"]}


def make_all(factory: Factory, names: dict[str, str]) -> None:
    for owner in OWNERS:
        factory.make(names[owner], owner)


def test_resources_this_state_does_not_declare_and_does_not_own_are_never_planned(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, factory: Factory, names: dict[str, str]
) -> None:
    make_all(factory, names)
    write(tmp_path, docker_host, factory, {})
    before = factory.listing(names["new"][:7])
    actions = plan(reconcile)
    planned = {a: actions[a]["action"] for a in actions if a.partition(".")[2] in names.values()}
    assert all(action == "noop" for action in planned.values()), planned
    assert factory.listing(names["new"][:7]) == before  # plan is read-only


def test_declared_names_are_blocked_claimed_or_adopted_by_whose_they_are(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, factory: Factory, names: dict[str, str]
) -> None:
    make_all(factory, names)
    declared = {names[owner]: "local" for owner in OWNERS} | {names["new"]: "local"}
    if factory.places:
        declared[names["far"]] = "gone"
    write(tmp_path, docker_host, factory, declared)
    before = factory.listing(names["new"][:7])
    actions = {a.partition(".")[2]: action for a, action in plan(reconcile).items()}

    theirs = actions[names["another state"]]
    assert (theirs["action"], bool(theirs["blocked"])) == ("create", True), theirs
    assert f"belongs to state {OTHER_STATE}" in theirs["blocked"]["reason"]

    legacy = actions[names["legacy"]]
    assert legacy["action"] not in ("create", "delete") and not legacy["blocked"], legacy
    assert any(reason.startswith("claim: ") for reason in legacy["reasons"]), legacy

    unmanaged = actions[names["unmanaged"]]
    adopted = unmanaged["action"] == "update" and any(r.startswith("adopt") for r in unmanaged["reasons"])
    assert adopted or (unmanaged["action"] == "create" and unmanaged["blocked"]), unmanaged

    new = actions[names["new"]]
    assert (new["action"], new["blocked"]) == ("create", None), new  # only the unreachable host's are blocked
    if factory.places:
        far = actions[names["far"]]
        assert far["blocked"] and f"{factory.gone} could not be observed" in far["reasons"], far
    assert factory.listing(names["new"][:7]) == before  # plan is read-only


def test_a_reference_to_what_is_not_declared_is_an_error_at_its_place(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, factory: Factory, names: dict[str, str]
) -> None:
    declaration, said = factory.bad_reference(names["new"])
    write(tmp_path, docker_host, factory, f"{names['new']}: {declaration}")
    checked = reconcile("validate", "desired_state")
    shown = checked.stdout + checked.stderr
    assert checked.returncode == 1, shown
    assert "state.yaml:6:" in shown and said in shown, shown  # the declaration is line 6
    assert "Traceback" not in shown


@pytest.mark.slow  # two applies and two plans for each kind
def test_a_create_killed_once_made_is_finished_by_the_next_apply_without_a_second_one(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, factory: Factory, names: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Killed (kill -9) after the kind made it and before the journal closed its intent."""
    write(tmp_path, docker_host, factory, {names["new"]: "local"})
    planned = plan(reconcile)
    [address] = [a for a in planned if a.endswith(f".{names['new']}")]
    kind = planned[address]["type"]
    monkeypatch.setenv(KILL_AT, f"{kind}.applied")
    killed = reconcile("apply", "desired_state", "--auto-approve")
    monkeypatch.delenv(KILL_AT)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    made = factory.listing(names["new"])
    assert len(made) == 1, made
    after = plan(reconcile)[address]
    assert (after["action"], after["blocked"]) == ("noop", None), after  # ours: nothing left to do
    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert factory.listing(names["new"]) == made  # not made twice


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_answers_the_whole_kind_protocol(kind: str) -> None:
    """The registry imports kinds lazily (untyped to mypy): a missing method would fail only mid-plan."""
    made = importlib.import_module(f"reconciler.kinds.{kind}.kind").KIND
    assert (made.kind, made.section) == (kind, made.section) and made.section
    for method in ("observe", "diff", "findings", "apply", "verify"):
        assert callable(getattr(made, method, None)), f"{kind} has no {method}"
