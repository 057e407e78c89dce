"""The pull request's comment, rendered by a CommonMark renderer (markdown-it-py, GitHub's tables on,
raw HTML passed through as GitHub passes its allowed tags): text that came from a health log, an
error quoting the pull request's YAML, an image or a container name renders as text — no element,
no broken <details>, no @mention (GitHub makes none inside code, and none where '@' does not touch
the name)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from reconciler.errors import Diagnostic
from reconciler.plan.report import Outcome
from reconciler.plan.schema import Action, Blocked, Change, CostLine, Costs, Finding, GitInfo, Plan, StateInfo, Summary
from reconciler.render import comment
from reconciler.render.markdown import MARKER_COMMENT, code, fenced, inert, render_markdown

HOSTILE = "</details> @octocat <img src=x onerror=alert(1)> ``` `x` | #1 [link](javascript:alert(1)) <!-- \n\n</summary><script>alert(2)</script> **bold**"
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


class Elements(HTMLParser):
    """The elements the comment renders, and the text outside code elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ends: list[str] = []
        self.in_code = 0
        self.text_outside_code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.in_code += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)
        self.in_code -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self.in_code:
            self.text_outside_code.append(data)

    def handle_comment(self, data: str) -> None:
        self.tags.append("<!--" + data)


def rendered(markdown: str) -> Elements:
    elements = Elements()
    elements.feed(MARKDOWN.render(markdown))
    elements.close()
    return elements


def assert_inert(markdown: str) -> None:
    elements = rendered(markdown)
    assert not {"img", "script", "a"} & set(elements.tags), elements.tags
    assert elements.tags.count("details") == elements.ends.count("details")
    assert elements.tags.count("summary") == elements.ends.count("summary")
    comments = [tag for tag in elements.tags if tag.startswith("<!--")]
    assert comments in ([], [f"<!--{MARKER_COMMENT[4:-3]}"]), comments  # only our marker
    outside = "".join(elements.text_outside_code)
    assert not re.search(r"@\w", outside), outside  # a mention needs '@' touching a name
    assert not re.search(r"#\d", outside), outside


def hostile_plan() -> Plan:
    actions = [
        Action(
            address="container.web",
            type="container",
            action="update",
            reasons=[HOSTILE],
            changes=[Change(path="image", before=HOSTILE, after="nginx:1")],
            observed_digest="sha256:x",
            host="vps",
        ),
        Action(
            address="ec2_instance.worker",
            type="ec2_instance",
            action="create",
            blocked=Blocked(reason=HOSTILE, remedy=HOSTILE),
            observed_digest="sha256:y",
        ),
    ]
    return Plan(
        tool_version="0.1.0",
        state=StateInfo(dir="desired_state", digest="sha256:s", git=GitInfo(commit="a" * 40, branch=HOSTILE, dirty=False)),
        summary=Summary.of(actions),
        actions=actions,
        findings=[
            Finding(severity="error", address="container.web", code="unhealthy", message=HOSTILE, remedy=HOSTILE),
            Finding(severity="warning", address="container.web", code="image-not-local", message=HOSTILE),
        ],
        costs=Costs(lines=[CostLine(address="s3_bucket.b", description=HOSTILE, monthly_usd=1)]),
    )


def test_a_health_log_in_a_plan_renders_as_text_everywhere_it_goes() -> None:
    text = render_markdown(hostile_plan())
    assert_inert(text)
    elements = rendered(text)
    shown = MARKDOWN.render(text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown  # still there to read, as text
    assert elements.tags.count("table") == 1


@pytest.mark.parametrize(
    "body",
    [
        comment.validation_failed(
            [Diagnostic("desired_state/a.yaml", 3, 9, f"invalid value {HOSTILE!r}")], "1 error in the desired state"
        ),
        comment.failed("plan", f"error: host vps: {HOSTILE}"),
        comment.stale(f"stale plan: changed since the plan was made: {HOSTILE}", hostile_plan()),
        comment.apply_report(
            [
                Outcome("container.web", "failed", f"never became healthy: {HOSTILE}", 3.2),
                Outcome("container.db", "done", "created", 1.0),
            ],
            hostile_plan(),
        ),
    ],
    ids=["validation", "failure", "stale", "apply report"],
)
def test_every_comment_keeps_untrusted_text_inert(body: str) -> None:
    assert body.startswith(MARKER_COMMENT)  # the workflow finds and updates this one comment
    assert_inert(body)


def test_validation_errors_are_listed_as_file_line_col() -> None:
    body = comment.validation_failed(
        [
            Diagnostic("desired_state/a.yaml", 26, 12, "state: invalid value 'runing'"),
            Diagnostic("desired_state/b.yaml", 1, 1, "x"),
        ],
        "2 errors in the desired state",
    )
    assert "desired_state/a.yaml:26:12: state: invalid value 'runing'\ndesired_state/b.yaml:1:1: x\n" in body
    assert "**2 errors in the desired state**: nothing was planned" in body


def test_the_apply_report_lists_failures_first_with_the_verdict() -> None:
    plan = hostile_plan()
    body = comment.apply_report(
        [Outcome("container.db", "done", "created", 1.0), Outcome("container.web", "failed", "boom", 2.0)], plan
    )
    assert "**Apply incomplete: 1 done, 1 failed.**" in body
    assert body.index("container.web") < body.index("container.db")
    assert "Applied at `aaaaaaaaaaaa`." in body
    assert "**Apply complete: nothing to do.**" in comment.apply_report([], plan)


def test_the_stale_comment_gives_the_reason_above_the_fresh_plan() -> None:
    body = comment.stale("stale plan: the desired state changed since the plan was made; make a new plan", hostile_plan())
    assert (
        body.index("the reviewed plan is stale")
        < body.index("Nothing was applied. stale plan: the desired state changed")
        < body.index("Plan: 1 to add")
    )


def test_a_huge_failure_is_cut_on_a_line_and_stays_inside_its_block() -> None:
    reason = "\n".join(f"line {i} `{HOSTILE}`" for i in range(3000))
    body = comment.failed("apply", reason, limit=20_000)
    assert len(body) <= 20_000
    assert "more line(s) are not shown" in body
    assert_inert(body)


@pytest.mark.parametrize("text", [HOSTILE, "`", "``a``", " x ", "a|b", "@octocat", "line\n\nbreak </details>"])
def test_code_spans_show_the_text_as_it_is(text: str) -> None:
    html = MARKDOWN.render(f"| a |\n|---|\n| {code(text, in_table=True)} |\n")
    elements = rendered(f"| a |\n|---|\n| {code(text, in_table=True)} |\n")
    assert elements.tags.count("td") == 1, html  # one cell: no pipe split it
    inline = MARKDOWN.renderInline(code(text))
    assert inline.startswith("<code>") and inline.endswith("</code>"), inline


def test_inert_prose_reads_the_same() -> None:
    shown = MARKDOWN.renderInline(inert("wget: not found *in* <image> nginx:1.25 @ops #12"))
    assert shown == "wget: not found *in* &lt;image&gt; nginx:1.25 @\u2060ops #\u206012"


def test_a_fenced_block_outlasts_any_backtick_run_inside() -> None:
    block = fenced("````\n</details>\n`````")
    assert rendered(block).tags == ["pre", "code"]
