"""The markdown plan, pure: what a reviewer reads in a pull-request comment, and that it never grows
past GitHub's comment limit, whatever the plan."""

from __future__ import annotations

from reconciler.plan.schema import Action, Blocked, Change, Finding, Plan, StateInfo, Summary
from reconciler.render.markdown import COMMENT_LIMIT, render_markdown


def action(address: str, kind: str = "create", changes: int = 3, blocked: Blocked | None = None, **extra: object) -> Action:
    return Action(
        address=address,
        type=address.partition(".")[0],
        action=kind,  # type: ignore[arg-type]
        changes=[
            Change(path=f"field{i}", before=None if kind == "create" else "old", after=f"value {i}") for i in range(changes)
        ],
        observed_digest="sha256:x",
        blocked=blocked,
        **extra,  # type: ignore[arg-type]
    )


def plan(actions: list[Action], findings: list[Finding] | None = None) -> Plan:
    return Plan(
        tool_version="0.1.0",
        state=StateInfo(dir="desired_state", digest="sha256:s"),
        summary=Summary.of(actions),
        actions=actions,
        findings=findings or [],
    )


def test_the_summary_comes_first_and_destroys_are_called_out_on_top() -> None:
    text = render_markdown(
        plan([action("container.web", "replace"), action("s3_bucket.old", "delete", 0), action("container.api")])
    )
    summary = text.index("Plan: 1 to add, 0 to change, 1 to replace, 1 to destroy, 0 blocked.")
    destroys = text.index("**Destroys:** `container.web`, `s3_bucket.old`")
    assert destroys < summary < text.index("<details>")


def test_blocked_actions_and_error_findings_come_before_the_details() -> None:
    blocked = Blocked(reason="needs 32 vCPUs, 8 of 8 in use, quota 8", remedy="reconcile apply --request-quota")
    text = render_markdown(
        plan(
            [action("container.web"), action("ec2_instance.worker", blocked=blocked)],
            [Finding(severity="error", address="container.web", code="healthcheck-binary-missing", message="no wget")],
        )
    )
    assert text.index("### Blocked (1)") < text.index("### Errors (1)") < text.index("### Changes")
    assert "needs 32 vCPUs, 8 of 8 in use, quota 8 — *reconcile apply --request-quota*" in text
    assert "**1 error finding(s)** fail this plan" in text


def test_each_action_is_a_collapsible_block_with_its_changes() -> None:
    text = render_markdown(plan([action("container.web", "update", 1)]))
    assert "<details><summary>🟡 <code>~ container.web</code> will be updated in place</summary>" in text
    assert '~ field0: "old" → "value 0"' in text


def test_no_changes_says_so() -> None:
    text = render_markdown(plan([action("container.web", "noop", 0)]))
    assert "**No changes.** Reality matches the desired state (1 resources)." in text
    assert "<details>" not in text


def test_a_value_with_backticks_cannot_break_out_of_its_block() -> None:
    sneaky = Action(
        address="container.web",
        type="container",
        action="update",
        changes=[Change(path="command", before="a", after="```\n</details># hi")],
        observed_digest="sha256:x",
    )
    text = render_markdown(plan([sneaky]))
    block = text[text.index("<details>") :]
    fence = block.splitlines()[2]
    assert fence.startswith("````")  # longer than any run of backticks inside
    assert block.splitlines().count("</details>") == 1  # the value's '</details>' stays inside the code block
    assert '"```\\n</details># hi"' in block


def test_three_hundred_big_actions_stay_under_the_limit_and_keep_the_summary() -> None:
    actions = [action(f"container.service{i:03}", changes=40) for i in range(300)]
    text = render_markdown(plan(actions))
    assert len(text) <= COMMENT_LIMIT
    assert "Plan: 300 to add, 0 to change, 0 to replace, 0 to destroy, 0 blocked." in text
    assert "are not shown: a comment holds at most 65,536. The whole plan is in the saved plan file" in text
    shown = text.count("<details>")
    assert 0 < shown < 300
    assert f"<code>+ container.service{shown - 1:03}</code>" in text  # dropped from the bottom, in order


def test_a_small_limit_still_keeps_the_summary() -> None:
    actions = [action(f"container.s{i}", changes=5) for i in range(50)]
    text = render_markdown(plan(actions), limit=2_000)
    assert len(text) <= 2_000
    assert "Plan: 50 to add" in text
    assert "not shown" in text


def test_a_cost_doc_change_is_a_diff_block() -> None:
    doc = Action(
        address="cost_doc.docs/costs.md",
        type="cost_doc",
        action="update",
        changes=[
            Change(path="content", before=None, after="--- a/docs/costs.md\n+++ b/docs/costs.md\n@@ -1 +1 @@\n-$19.13\n+$57.80\n")
        ],
        observed_digest="sha256:x",
    )
    text = render_markdown(plan([doc]))
    assert "```diff\n--- a/docs/costs.md\n+++ b/docs/costs.md\n@@ -1 +1 @@\n-$19.13\n+$57.80\n```" in text


def test_actions_are_grouped_by_docker_host_when_there_are_several() -> None:
    text = render_markdown(plan([action("container.a", host="vps"), action("s3_bucket.b"), action("container.c", host="edge")]))
    edge, vps, aws = (
        text.index("#### Docker host `edge`"),
        text.index("#### Docker host `vps`"),
        text.index("#### AWS and documents"),
    )
    assert (
        edge < text.index("container.c</code>") < vps < text.index("container.a</code>") < aws < text.index("s3_bucket.b</code>")
    )
    assert "####" not in render_markdown(plan([action("container.a", host="vps")]))


def test_the_cost_change_is_a_table_of_now_after_and_change_per_resource_and_in_total() -> None:
    from decimal import Decimal

    from reconciler.plan.schema import CostLine, Costs

    lines = [
        CostLine(
            address="ec2_instance.phase2-worker",
            description="c7i.8xlarge On-Demand, $1.36/h × 42.5 h",
            one_off_usd=Decimal("57.80"),
            one_off_usd_before=Decimal("19.125"),
        ),
        CostLine(
            address="host.vps", description="flat monthly fee", monthly_usd=Decimal("24.90"), monthly_usd_before=Decimal("24.90")
        ),
    ]
    costed = plan([action("container.a")]).model_copy(
        update={"costs": Costs(monthly_usd=Decimal("24.90"), one_off_usd=Decimal("57.80"), lines=lines)}
    )
    text = render_markdown(costed)
    assert (
        "| `ec2_instance.phase2-worker` | c7i.8xlarge On-Demand, $1.36/h × 42.5 h | $0.00 | $0.00 | — | $19.13 | $57.80 | +$38.67 |"
        in text
    )
    assert "| `host.vps` | flat monthly fee | $24.90 | $24.90 | — | $0.00 | $0.00 | — |" in text
    assert "| **Total** | | **$24.90** | **$24.90** | **—** | **$19.13** | **$57.80** | **+$38.67** |" in text
