"""What a user reads: the Terraform-style text, the JSON format of SPEC §3.2, and the stale-plan
refusal of a saved plan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.apply.executor import check_still_true
from reconciler.errors import StalePlan
from reconciler.plan.digest import ABSENT
from reconciler.plan.report import Outcome
from reconciler.plan.schema import Action, Blocked, Change, Finding, Plan, StateInfo, Summary
from reconciler.render.text import render_outcomes, render_plan


def make_plan(actions: list[Action], findings: list[Finding] | None = None, digest: str = "sha256:state") -> Plan:
    return Plan(
        tool_version="0.1.0",
        state=StateInfo(dir="desired_state", digest=digest),
        summary=Summary.of(actions),
        actions=actions,
        findings=findings or [],
    )


def act(address: str, kind: str, **fields: Any) -> Action:
    return Action(address=address, type="container", action=kind, observed_digest=fields.pop("digest", "sha256:o"), **fields)  # type: ignore[arg-type]


ACTIONS = [
    act("container.db", "noop"),
    act("container.web", "create", changes=[Change(path="image", after="app:1")], digest=ABSENT),
    act("container.api", "update", reasons=["restart changed"], changes=[Change(path="restart", before="no", after="always")]),
    act(
        "container.front",
        "replace",
        reasons=["healthcheck.test changed"],
        changes=[Change(path="healthcheck.test", before=["CMD", "wget"], after=["CMD-SHELL", "ps"])],
    ),
    act("container.old", "delete", reasons=["no longer declared"]),
    act(
        "container.taken",
        "create",
        blocked=Blocked(reason="exists and is not managed", remedy="adopt it with `reconcile import`"),
    ),
]


def test_the_text_reads_like_terraform_plan() -> None:
    text = render_plan(make_plan(ACTIONS)).plain
    assert '  + container.web\n      + image: "app:1"\n' in text
    assert '  ~ container.api\n      ~ restart: "no" → "always"\n' in text
    assert '-/+ container.front\n      ~ healthcheck.test: ["CMD", "wget"] → ["CMD-SHELL", "ps"]\n' in text
    assert "  # container.old will be destroyed (no longer declared)\n  - container.old\n" in text
    assert "! blocked: exists and is not managed" in text
    assert "container.db" not in text
    assert text.rstrip().endswith("Plan: 2 to add, 1 to change, 1 to replace, 1 to destroy, 1 blocked.")


def test_nothing_to_do_is_one_line() -> None:
    assert (
        render_plan(make_plan([act("container.db", "noop")])).plain
        == "No changes. Reality matches the desired state (1 resources).\n"
    )


def test_findings_are_shown_with_their_remedy() -> None:
    finding = Finding(
        severity="error",
        address="container.front",
        code="healthcheck-binary-missing",
        message="wget is not in the image",
        remedy="use CMD-SHELL with nc",
    )
    text = render_plan(make_plan([act("container.front", "noop")], [finding])).plain
    assert "error   container.front: healthcheck-binary-missing: wget is not in the image" in text
    assert "remedy: use CMD-SHELL with nc" in text


def test_the_json_has_exactly_the_spec_fields() -> None:
    document = json.loads(make_plan(ACTIONS).model_dump_json())
    assert set(document) == {"format_version", "tool_version", "state", "summary", "actions", "findings", "costs"}
    assert document["format_version"] == "1"
    assert document["summary"] == {"create": 2, "update": 1, "replace": 1, "delete": 1, "noop": 1, "blocked": 1}
    assert set(document["actions"][0]) == {
        "address",
        "type",
        "action",
        "reasons",
        "changes",
        "observed_digest",
        "depends_on",
        "blocked",
        "host",
        "known_at_apply",
        "secrets",
    }
    assert document["actions"][3]["changes"] == [
        {"path": "healthcheck.test", "before": ["CMD", "wget"], "after": ["CMD-SHELL", "ps"]}
    ]
    assert document["actions"][5]["blocked"] == {
        "reason": "exists and is not managed",
        "remedy": "adopt it with `reconcile import`",
    }
    assert document["costs"] == {"monthly_usd": 0.0, "one_off_usd": 0.0, "lines": []}


def test_a_saved_plan_still_true_is_accepted() -> None:
    check_still_true(make_plan(ACTIONS), make_plan(ACTIONS))


@pytest.mark.parametrize(
    ("fresh", "names"),
    [
        (make_plan(ACTIONS, digest="sha256:edited"), "the desired state changed"),
        (make_plan([*ACTIONS[:1], act("container.web", "create", digest="sha256:appeared"), *ACTIONS[2:]]), "container.web"),
        (make_plan([*ACTIONS[:2], act("container.api", "noop"), *ACTIONS[3:]]), "container.api"),
        (make_plan([a for a in ACTIONS if a.address != "container.old"]), "container.old"),
    ],
    ids=["state-edited", "created-since-against-nothing", "fixed-by-hand", "gone"],
)
def test_a_stale_saved_plan_is_refused_naming_what_changed(fresh: Plan, names: str) -> None:
    with pytest.raises(StalePlan, match="stale plan") as refused:
        check_still_true(make_plan(ACTIONS), fresh)
    assert names in str(refused.value)


def test_drift_on_a_resource_the_plan_does_not_touch_is_not_stale() -> None:
    fresh = make_plan([act("container.db", "noop", digest="sha256:restarted"), *ACTIONS[1:]])
    check_still_true(make_plan(ACTIONS), fresh)


def test_the_apply_report_says_what_succeeded_and_what_failed_and_why() -> None:
    text = render_outcomes(
        [
            Outcome("container.db", "done", "created and started", 0.4),
            Outcome("container.api", "failed", "image api:1 is not on host vps and pulling it failed: not found", 1.2),
            Outcome("container.web", "skipped", "not applied: it depends on container.api, which failed"),
        ]
    ).plain
    assert "done        container.db: created and started [0.4s]" in text
    assert "failed      container.api: image api:1 is not on host vps and pulling it failed: not found [1.2s]" in text
    assert text.rstrip().endswith("Apply incomplete: 1 done, 1 failed, 1 skipped.")
