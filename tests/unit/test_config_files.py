"""A config's content as the plan shows it and as the engine receives it (kinds/container/config_files.py):
a bounded unified diff that stays inside its markdown block, and an archive with owner and mode."""

from __future__ import annotations

import io
import tarfile

from reconciler.kinds.container.config_files import DIFF_LINE_CHARACTERS, DIFF_LINES, archive, first_file, unified_diff
from reconciler.model.compose_fields import ConfigMount
from reconciler.plan.schema import CONTENT_DIFF, Action, Change, Plan, StateInfo, Summary
from reconciler.render.markdown import render_markdown


def test_a_diff_is_bounded_in_lines_and_in_width() -> None:
    before = "".join(f"line {i}\n" for i in range(500)).encode()
    after = "".join(f"LINE {i} {'x' * 1000}\n" for i in range(500)).encode()
    lines = unified_diff("/etc/app.conf", before, after).splitlines()
    assert len(lines) == DIFF_LINES + 1
    assert lines[-1].endswith("more lines of diff left out")
    assert max(len(line) for line in lines) <= DIFF_LINE_CHARACTERS + 1


def test_binary_content_is_only_said_to_differ() -> None:
    assert "binary content changed" in unified_diff("/x", b"\xff\xfe", b"\x00\xff")


def test_a_config_diff_with_backticks_and_html_stays_in_its_block() -> None:
    diff = unified_diff("/etc/app.conf", b"a\n", b"```\n</details><script>alert(1)</script>\n")
    action = Action(
        address="container.web",
        type="container",
        action="replace",
        changes=[
            Change(path="configs./etc/app.conf", before="app sha256:1", after="app sha256:2"),
            Change(path=f"configs./etc/app.conf{CONTENT_DIFF}", after=diff),
        ],
        observed_digest="sha256:x",
    )
    plan = Plan(
        tool_version="0.1.0",
        state=StateInfo(dir="desired_state", digest="sha256:s"),
        summary=Summary.of([action]),
        actions=[action],
        findings=[],
    )
    text = render_markdown(plan)
    block = text[text.index("<details>") :]
    assert block.splitlines().count("</details>") == 1
    assert "````diff\n--- a/etc/app.conf\n+++ b/etc/app.conf\n" in block
    assert "+</details><script>" in block  # inside the fence: shown as text, never as HTML


def test_the_archive_puts_each_config_at_its_target_with_its_owner_and_mode() -> None:
    mounts = (ConfigMount("app", "/etc/app/app.conf", "1000", "1001", 0o440), ConfigMount("motd", "/motd"))
    data = archive(mounts, {"app": b"workers = 2\n", "motd": b"hi"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: (m.uid, m.gid, m.mode, m.size) for m in tar.getmembers()}
    assert members == {"etc/app/app.conf": (1000, 1001, 0o440, 12), "motd": (0, 0, 0o444, 2)}
    assert first_file(iter([data])) == b"workers = 2\n"
