"""Progress lines where they are plain text (a pipe, a CI log): written as rich would print them,
byte for byte, without rich's render of each line."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from reconciler.progress import ProgressView


def plain_console() -> Console:
    """What the CLI's stderr console is where stderr is not a terminal (startup.LazyConsole)."""
    return Console(file=io.StringIO(), highlight=False, soft_wrap=True)


def printed(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


@given(st.text(), st.text())
def test_a_plain_progress_line_is_what_rich_prints(address: str, message: str) -> None:
    view, rich = plain_console(), plain_console()
    progress = ProgressView(view)
    progress(address, message)
    progress.finished(address, message)
    progress.say(message)
    rich.print(Text(f"{address}: {message}", style="cyan"))
    rich.print(Text(f"{address}: {message}"))
    rich.print(Text(message, style="yellow"))
    assert printed(view) == printed(rich)


def test_control_codes_and_tabs_are_said_as_rich_says_them() -> None:
    view, rich = plain_console(), plain_console()
    message = "exited\r\x07 at\tonce \x1b[31m(red)\x1b[0m\nnext\tline"
    ProgressView(view).say(message)
    rich.print(Text(message, style="yellow"))
    assert printed(view) == printed(rich) and "\r" not in printed(view)
