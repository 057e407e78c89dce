"""The pull request's one comment for every outcome other than a plan: the state is invalid, the
plan or the apply failed, the reviewed plan is stale, or the apply report. Renders data only; every
piece of text that came from the pull request, an engine or a cloud goes through ``inert``/``code``
or a fenced block, so it shows as text and never as markup, HTML or a mention."""

from __future__ import annotations

from reconciler.errors import Diagnostic
from reconciler.plan.report import Outcome
from reconciler.plan.schema import Plan
from reconciler.render.markdown import COMMENT_LIMIT, MARKER_COMMENT, code, fenced, inert, render_markdown

STATUS_ICONS = {"done": "✅", "failed": "❌", "skipped": "⏭️", "blocked": "⛔", "not started": "⏸️"}


CUT_NOTE = (
    "\n> [!NOTE]\n> {count} more line(s) are not shown: a comment holds at most {limit:,} characters. "
    "The workflow's log has them all.\n"
)


def _lines_within(lines: list[str], room: int, limit: int) -> tuple[list[str], str]:
    """The lines that fit, whole (a line cut in the middle could leave a code span open and its
    text live), and the note that says how many did not."""
    used = len(CUT_NOTE) + 20
    for index, line in enumerate(lines):
        used += len(line) + 1
        if used > room:
            return lines[:index], CUT_NOTE.format(count=len(lines) - index, limit=limit)
    return lines, ""


def validation_failed(diagnostics: list[Diagnostic], summary: str, limit: int = COMMENT_LIMIT) -> str:
    """Every located problem, one a line as `reconcile validate` prints them (FILE:LINE:COL: message),
    in a code block: the messages quote the pull request's YAML."""
    head = (
        f"{MARKER_COMMENT}\n## reconcile: the desired state is invalid\n\n"
        f"**{inert(summary)}**: nothing was planned. Fix these and push again.\n\n"
    )
    lines, note = _lines_within([str(d) for d in diagnostics], limit - len(head), limit)
    return head + fenced("\n".join(lines)) + note


def failed(stage: str, reason: str, limit: int = COMMENT_LIMIT) -> str:
    """`stage` (plan, apply) failed before it had a plan or a report to show: the reason as the
    command printed it."""
    head = f"{MARKER_COMMENT}\n## reconcile {inert(stage)} failed\n\nNothing was changed by this run.\n\n"
    lines, note = _lines_within(reason.splitlines(), limit - len(head), limit)
    return head + fenced("\n".join(lines)) + note


def stale(reason: str, fresh: Plan, limit: int = COMMENT_LIMIT) -> str:
    """The reviewed plan no longer holds: nothing was applied; the plan as it is now, to review."""
    heading = (
        "## reconcile apply refused: the reviewed plan is stale\n\n"
        f"Nothing was applied. {inert(reason)}.\n\n"
        "This is the plan as it is now. Nothing applies it by itself: review it, then bring it in "
        "through a new pull request (its plan is applied when it merges), or save it with `reconcile "
        "plan --out` and run `reconcile apply PLANFILE` where the production credentials are.\n\n"
    )
    return render_markdown(fresh, limit=limit, heading=heading)


def apply_report(outcomes: list[Outcome], plan: Plan, limit: int = COMMENT_LIMIT) -> str:
    """What became of each step of the reviewed plan, failures first."""
    counts = {status: sum(1 for o in outcomes if o.status == status) for status in STATUS_ICONS}
    complete = counts["done"] == len(outcomes)
    verdict = "Apply complete" if complete else "Apply incomplete"
    tally = ", ".join(f"{count} {status}" for status, count in counts.items() if count) or "nothing to do"
    parts = [f"{MARKER_COMMENT}\n## reconcile apply\n\n"]
    if plan.state.git is not None:
        parts.append(f"Applied at {code(plan.state.git.commit[:12])}.\n\n")
    parts.append(f"**{verdict}: {tally}.**\n\n")
    if outcomes:
        rows = ["| | Resource | Result | Time |", "|---|---|---|---:|"]
        order = {status: index for index, status in enumerate(("failed", "blocked", "skipped", "not started", "done"))}
        for outcome in sorted(outcomes, key=lambda o: order[o.status]):
            took = f"{outcome.seconds:.1f} s" if outcome.seconds else ""
            rows.append(
                f"| {STATUS_ICONS[outcome.status]} | {code(outcome.address, in_table=True)} | "
                f"{outcome.status}: {inert(outcome.message)} | {took} |"
            )
        shown, note = _lines_within(rows, limit - sum(map(len, parts)) - 100, limit)
        parts.append("\n".join(shown) + "\n" + note)
    if not complete:
        parts.append("\nThe next `reconcile plan` shows exactly what is left.\n")
    return "".join(parts)
