"""Plan and apply result → text that reads like `terraform plan` / `terraform apply`. Renders data
only: never calls a kind or a client."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from reconciler.costs.money import signed_usd, usd
from reconciler.plan.report import Outcome
from reconciler.plan.schema import Action, Plan

MARKERS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
    "noop": ("!", "red"),  # shown only when blocked: what it needs is unknown (its host could not be read)
}
WHAT = {
    "create": "will be created",
    "update": "will be updated in place",
    "replace": "must be replaced",
    "delete": "will be destroyed",
    "noop": "cannot be planned now",
}


def value(shown: Any) -> str:
    return json.dumps(shown, ensure_ascii=False, default=str)


def action_lines(action: Action) -> Text:
    text = Text()
    marker, style = MARKERS[action.action]
    why = f" ({'; '.join(action.reasons)})" if action.reasons else ""
    text.append(f"  # {action.address} {WHAT[action.action]}{why}\n", style="dim")
    text.append(f"{marker:>3} {action.address}\n", style=f"bold {style}")
    for change in action.changes:
        if isinstance(change.after, str) and "\n" in change.after and change.before is None:  # a doc's diff
            text.append(f"      ~ {change.path}:\n", style="yellow")
            text.append("".join(f"        {line}\n" for line in change.after.splitlines()), style="yellow")
        elif action.action == "create":
            text.append(f"      + {change.path}: {value(change.after)}\n", style="green")
        else:
            text.append(f"      ~ {change.path}: {value(change.before)} → {value(change.after)}\n", style="yellow")
    if action.secrets:
        text.append(f"      secrets: {', '.join(action.secrets)} (from apply's environment)\n", style="magenta")
    if action.blocked:
        text.append(f"      ! blocked: {action.blocked.reason}\n", style="bold red")
        text.append(f"        remedy: {action.blocked.remedy}\n", style="red")
    return text


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return f"Plan: {s.create} to add, {s.update} to change, {s.replace} to replace, {s.delete} to destroy, {s.blocked} blocked."


def cost_line(plan: Plan) -> str:
    """Monthly total and its change (what exists now → after the plan); '' when nothing costs."""
    costs = plan.costs
    if not costs.lines:
        return ""
    before, after = costs.monthly_usd_before, costs.monthly_usd
    line = f"Cost: {usd(before)}/month → {usd(after)}/month ({signed_usd(after - before)})"
    if costs.one_off_usd or costs.one_off_usd_before:
        line += f", one-off {usd(costs.one_off_usd_before)} → {usd(costs.one_off_usd)}"
    return line + f"; annual {usd(costs.annual_usd)}."


def by_host(actions: list[Action]) -> list[tuple[str | None, list[Action]]]:
    """Actions without a host first (AWS, files), then each host's, hosts in name order; within a
    group, the plan's order."""
    groups: dict[str | None, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.host, []).append(action)
    return sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))


def render_plan(plan: Plan) -> Text:
    text = Text()
    changing = [a for a in plan.actions if a.is_change or a.blocked]
    if changing:
        text.append("reconcile will perform the following actions:\n\n")
        groups = by_host(changing)
        for host, actions in groups:
            if host is not None and len(groups) > 1:  # one group needs no heading
                text.append(f"On host {host}:\n\n", style="bold underline")
            for action in actions:
                text.append_text(action_lines(action))
                text.append("\n")
    waiting = [a for a in plan.actions if a.known_at_apply and not a.is_change and not a.blocked]
    if waiting:
        text.append("Known at apply (variables without a value now; apply replaces what then differs):\n", style="bold")
        for action in waiting:
            text.append(f"  {action.address}: {', '.join(action.known_at_apply)}\n")
        text.append("\n")
    if plan.findings:
        text.append("Findings:\n", style="bold")
        for finding in plan.findings:
            style = {"error": "bold red", "warning": "yellow"}.get(finding.severity, "")
            text.append(f"  {finding.severity:<7} {finding.address}: {finding.code}: {finding.message}\n", style=style)
            if finding.remedy:
                text.append(f"          remedy: {finding.remedy}\n", style="dim")
        text.append("\n")
    if changing:
        text.append(summary_line(plan) + "\n", style="bold")
    else:
        text.append(f"No changes. Reality matches the desired state ({len(plan.actions)} resources).\n", style="bold green")
    if cost_line(plan):
        text.append(cost_line(plan) + "\n", style="bold")
    return text


def render_outcomes(outcomes: list[Outcome]) -> Text:
    text = Text()
    styles = {"done": "green", "failed": "bold red", "skipped": "yellow", "blocked": "red", "not started": "yellow"}
    for outcome in outcomes:
        took = f" [{outcome.seconds:.1f}s]" if outcome.seconds else ""
        text.append(f"  {outcome.status:<11} {outcome.address}: {outcome.message}{took}\n", style=styles[outcome.status])
    counts = {status: sum(1 for o in outcomes if o.status == status) for status in styles}
    parts = [f"{count} {status}" for status, count in counts.items() if count]
    verdict = "Apply complete" if counts["done"] == len(outcomes) else "Apply incomplete"
    text.append(
        f"{verdict}: {', '.join(parts) if parts else 'nothing to do'}.\n",
        style="bold" if verdict == "Apply complete" else "bold red",
    )
    return text
