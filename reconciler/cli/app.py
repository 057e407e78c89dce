"""The typer app, its root options, and what every command prints through: the two consoles."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler import __version__
from reconciler.startup import LazyConsole

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

app = typer.Typer(
    name="reconcile",
    help="GitOps for Docker containers, disk budgets, EC2 instances, S3 buckets and cost docs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out: Console = LazyConsole(stderr=False)  # type: ignore[assignment]
err_console = LazyConsole(stderr=True)  # .real() for what needs the Console itself (a live progress view)
err: Console = err_console  # type: ignore[assignment]


def text(*parts: str | tuple[str, str], style: str = "") -> Text:
    from rich.text import Text

    return Text.assemble(*parts, style=style)


def warn(message: str) -> None:
    err.print(text(f"warning: {message}", style="yellow"))


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"reconcile {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """GitOps for Docker containers, disk budgets, EC2 instances, S3 buckets and cost docs."""
