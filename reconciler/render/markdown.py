"""Plan → markdown for a pull-request comment (SPEC §3.2). Renders data only.

Order of reading: the summary (destroys on top), then what needs a human (blocked actions, error
findings), the cost change, and the details of each action in collapsible blocks. GitHub refuses a
comment over 65,536 characters, so the text is built within a budget: the summary always, the rest
in that order until the budget is spent, then one line that says what was left out and where the
whole plan is."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from reconciler.plan.schema import CONTENT_DIFF, Action, Finding, Plan
from reconciler.render.text import WHAT, summary_line, value

COMMENT_LIMIT = 65_536
MARKERS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "noop": " "}
ICONS = {"create": "🟢", "update": "🟡", "replace": "🟣", "delete": "🔴"}
MARKER_COMMENT = "<!-- reconcile:plan -->"  # lets a workflow find and update its own comment
FULL_PLAN_HINT = "the saved plan file (the workflow's `plan` artifact), or `reconcile plan` run locally"


_MARKUP = re.compile(r"([\\`*_\[\]<>&|~!])")  # what could start a span, a link, HTML or a table cell
_PINGS = re.compile(r"([@#])(?=[\w-])")  # @user, @org/team, #123: GitHub notifies or cross-links them
WORD_JOINER = "\u2060"  # invisible; it keeps '@' from touching the name, so no mention is made


def _one_line(text: str) -> str:
    """A blank line would end the paragraph, the list item or the HTML block the text is in."""
    return " ".join(text.split())


def inert(text: str) -> str:
    """Untrusted prose (a health log's last output, an error that quotes YAML, an image name) as
    plain text: one line, everything that could start markup escaped, no mention, no reference."""
    return _PINGS.sub(lambda m: m.group(1) + WORD_JOINER, _MARKUP.sub(r"\\\1", _one_line(text)))


def inert_html(text: str) -> str:
    """The same, for text inside an HTML element (a <summary>)."""
    return _PINGS.sub(lambda m: m.group(1) + WORD_JOINER, html.escape(_one_line(text)))


def code(text: str, in_table: bool = False) -> str:
    """Inline code that no backtick, newline or pipe in ``text`` can break out of (GitHub makes no
    mention or link inside code)."""
    flat = " ".join(text.splitlines())
    if in_table:
        flat = flat.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or (flat.startswith(" ") and flat.endswith(" ")) else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def fenced(body: str, language: str = "") -> str:
    """A code block whose fence is longer than any run of backticks in ``body``."""
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{body.rstrip(chr(10))}\n{fence}\n"


def _cents(amount: Decimal | float) -> Decimal:
    return Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(amount: Decimal | float) -> str:
    cents = _cents(amount)
    return f"{'-' if cents < 0 else ''}${abs(cents):,.2f}"


def _content_diffs(action: Action) -> list[str]:
    return [c.after for c in action.changes if c.path.endswith(CONTENT_DIFF) and isinstance(c.after, str)]


def _action_lines(action: Action) -> str:
    lines = []
    for change in action.changes:
        if change.path.endswith(CONTENT_DIFF):
            continue  # shown as a diff block of its own
        if action.action == "create":
            lines.append(f"+ {change.path}: {value(change.after)}")
        elif action.action == "delete" and change.after is None:
            lines.append(f"- {change.path}: {value(change.before)}")
        else:
            lines.append(f"~ {change.path}: {value(change.before)} → {value(change.after)}")
    return "\n".join(lines)


def _details(action: Action) -> str:
    why = f" ({'; '.join(action.reasons)})" if action.reasons else ""
    head = f"{ICONS.get(action.action, '')} <code>{inert_html(MARKERS[action.action] + ' ' + action.address)}</code> "
    head += inert_html(WHAT[action.action] + why)
    if action.blocked:
        head += " — <b>blocked</b>"
    parts = [f"<details><summary>{head}</summary>\n\n"]
    if action.blocked:
        parts.append(f"**Blocked:** {inert(action.blocked.reason)}  \n**Remedy:** {inert(action.blocked.remedy)}\n\n")
    if action.secrets:
        parts.append(f"**Secrets** (from apply's environment): {', '.join(code(name) for name in action.secrets)}\n\n")
    diff = _document_diff(action)
    if diff is not None:
        parts.append(fenced(diff, "diff"))
    elif action.changes:
        parts.append(fenced(_action_lines(action), "diff" if action.action in ("create", "delete") else ""))
        parts += [fenced(text, "diff") for text in _content_diffs(action)]
    parts.append("\n</details>\n")
    return "".join(parts)


def _document_diff(action: Action) -> str | None:
    """A cost doc's change is a unified diff of the file: shown as a diff block."""
    if action.type != "cost_doc":
        return None
    texts = [c.after for c in action.changes if isinstance(c.after, str) and c.after.startswith(("---", "@@"))]
    return "\n".join(texts) if texts else None


def _finding_line(finding: Finding) -> str:
    remedy = f" — {inert(finding.remedy)}" if finding.remedy else ""
    return f"- **{finding.severity}** {code(finding.address)} {code(finding.code)}: {inert(finding.message)}{remedy}\n"


def _delta(before: Decimal, after: Decimal) -> str:
    """The change between the amounts as shown (in cents), so that every row adds up."""
    change = _cents(after) - _cents(before)
    return "—" if change == 0 else ("+" if change > 0 else "") + _money(change)


def _costs(plan: Plan) -> str:
    """The cost change: what each resource costs now and once applied, per month and one-off."""
    costs = plan.costs
    if not costs.lines:
        return ""
    one_off = any(line.one_off_usd or line.one_off_usd_before for line in costs.lines)
    header = "| Resource | What | Monthly now | Monthly after | Change |"
    rule = "|---|---|---:|---:|---:|"
    if one_off:
        header += " One-off now | One-off after | Change |"
        rule += "---:|---:|---:|"
    rows = [header, rule]

    def cells(monthly: tuple[Decimal, Decimal], once: tuple[Decimal, Decimal], bold: bool = False) -> str:
        mark = "**" if bold else ""
        shown = [_money(monthly[0]), _money(monthly[1]), _delta(*monthly)]
        if one_off:
            shown += [_money(once[0]), _money(once[1]), _delta(*once)]
        return " | ".join(f"{mark}{cell}{mark}" for cell in shown)

    for line in costs.lines:
        what = inert(line.description)
        numbers = cells((line.monthly_usd_before, line.monthly_usd), (line.one_off_usd_before, line.one_off_usd))
        rows.append(f"| {code(line.address, in_table=True)} | {what} | {numbers} |")
    totals = cells((costs.monthly_usd_before, costs.monthly_usd), (costs.one_off_usd_before, costs.one_off_usd), bold=True)
    rows.append(f"| **Total** | | {totals} |")
    return "### Cost change\n\n" + "\n".join(rows) + "\n\n"


def _head(plan: Plan, heading: str) -> str:
    parts = [MARKER_COMMENT + "\n", heading]
    if plan.state.git is not None:
        git = plan.state.git
        where = f" on {code(git.branch)}" if git.branch else ""
        dirty = " (with uncommitted changes)" if git.dirty else ""
        parts.append(f"State {code(plan.state.dir)} at {code(git.commit[:12])}{where}{dirty}.\n\n")
    destroys = [a for a in plan.actions if a.action in ("delete", "replace")]
    if destroys:
        shown = ", ".join(code(a.address) for a in destroys[:20])
        more = f" and {len(destroys) - 20} more" if len(destroys) > 20 else ""
        parts.append(f"> [!WARNING]\n> **Destroys:** {shown}{more}\n\n")
    if any(a.is_change or a.blocked for a in plan.actions):
        parts.append(f"**{summary_line(plan)}**\n\n")
    else:
        parts.append(f"**No changes.** Reality matches the desired state ({len(plan.actions)} resources).\n\n")
    errors = plan.errors()
    if errors:
        parts.append(f"**{len(errors)} error finding(s)** fail this plan unless `settings.policy_mode: warn`.\n\n")
    return "".join(parts)


def _needs_a_human(plan: Plan) -> Iterable[str]:
    blocked = [a for a in plan.actions if a.blocked]
    if blocked:
        yield f"### Blocked ({len(blocked)})\n\n"
        for action in blocked:
            assert action.blocked is not None
            yield f"- {code(action.address)}: {inert(action.blocked.reason)} — *{inert(action.blocked.remedy)}*\n"
        yield "\n"
    errors = plan.errors()
    if errors:
        yield f"### Errors ({len(errors)})\n\n"
        for finding in errors:
            yield _finding_line(finding)
        yield "\n"


def _the_rest(plan: Plan) -> Iterable[str]:
    changing = [a for a in plan.actions if a.is_change or a.blocked]
    if changing:
        yield "### Changes\n\n"
        groups: dict[str | None, list[Action]] = {}
        for action in changing:
            groups.setdefault(action.host, []).append(action)
        for host, actions in sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or "")):
            if len(groups) > 1:
                yield f"#### Docker host {code(host)}\n\n" if host else "#### AWS and documents\n\n"
            for action in actions:
                yield _details(action)
        yield "\n"
    others = [f for f in plan.findings if f.severity != "error"]
    if others:
        yield f"### Warnings and notes ({len(others)})\n\n"
        for finding in others:
            yield _finding_line(finding)
        yield "\n"


def _known_at_apply(plan: Plan) -> str:
    """Resources with no known change whose values wait for apply (a secret the plan was not given)."""
    waiting = [a for a in plan.actions if a.known_at_apply and not a.is_change and not a.blocked]
    if not waiting:
        return ""
    lines = [f"- {code(a.address)}: {', '.join(code(path) for path in a.known_at_apply)}\n" for a in waiting]
    return "### Known at apply\n\nVariables without a value now; apply replaces what then differs.\n\n" + "".join(lines) + "\n"


def render_markdown(plan: Plan, limit: int = COMMENT_LIMIT, heading: str = "## reconcile plan\n\n") -> str:
    """The comment, never longer than ``limit`` characters; the summary is never dropped.
    ``heading`` is markdown of ours (e.g. why an apply refused, above the fresh plan)."""
    head = _head(plan, heading)
    pieces = [*_needs_a_human(plan), _costs(plan), *_the_rest(plan), _known_at_apply(plan)]
    pieces = [piece for piece in pieces if piece]
    note_room = 400
    budget = limit - len(head) - note_room
    kept: list[str] = []
    for index, piece in enumerate(pieces):
        if len(piece) > budget:
            left = pieces[index:]
            chars = sum(len(p) for p in left)
            kept.append(
                f"\n> [!NOTE]\n> {len(left)} more part(s) of this plan ({chars:,} characters) are not shown: "
                f"a comment holds at most {limit:,}. The whole plan is in {FULL_PLAN_HINT}.\n"
            )
            break
        kept.append(piece)
        budget -= len(piece)
    return (head + "".join(kept))[:limit]
