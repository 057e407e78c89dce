"""The command line: arguments → calls → output → exit code. The only module that prints or exits."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from reconciler import __version__
from reconciler.errors import ConfigError, ReconcileError
from reconciler.model.load import LoadedState, load_state
from reconciler.model.spec import json_schema

app = typer.Typer(
    name="reconcile",
    help="GitOps for Docker containers, disk budgets, EC2 instances, S3 buckets and cost docs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

StateDir = Annotated[
    Path | None,
    typer.Argument(
        metavar="[DIR]",
        help="The desired-state directory (default: $RECONCILE_STATE_DIR, else desired_state).",
        show_default=False,
    ),
]


def _state_dir(directory: Path | None) -> Path:
    return directory or Path(os.environ.get("RECONCILE_STATE_DIR") or "desired_state")


def _show_version(value: bool) -> None:
    if value:
        out.print(f"reconcile {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """GitOps for Docker containers, disk budgets, EC2 instances, S3 buckets and cost docs."""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(loaded: LoadedState) -> str:
    state = loaded.state
    parts = [
        _plural(len(state.hosts), "host"),
        _plural(len(state.containers), "container"),
        _plural(len(state.disk_budgets), "disk budget"),
        _plural(len(state.ec2_instances), "EC2 instance"),
        _plural(len(state.s3_buckets), "S3 bucket"),
        _plural(len(state.cost_docs), "cost doc"),
    ]
    return f"{loaded.directory}: valid ({_plural(len(loaded.files), 'file')}): {', '.join(parts)}"


@app.command()
def validate(directory: StateDir = None) -> None:
    """Load and check the desired-state directory; print every problem with its place."""
    loaded = load_state(_state_dir(directory))
    out.print(Text(_summary(loaded), style="green"))


@app.command()
def schema() -> None:
    """Print the JSON Schema (2020-12) of the desired-state format, for editors."""
    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


def _print_config_error(error: ConfigError) -> None:
    for diagnostic in error.diagnostics:
        place = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}:"
        err.print(Text.assemble((place, "bold"), " ", (diagnostic.message, "red")))
    err.print(Text(str(error), style="bold red"))


def main() -> None:
    """The console script: runs the app and turns every failure into a message and an exit code;
    no traceback reaches a user unless they ask with --debug."""
    debug = "--debug" in sys.argv
    try:
        code = app(standalone_mode=False)  # typer.Exit comes back as the return value
    except typer.TyperException as usage:  # bad arguments or options
        err.print(Text(f"error: {usage.format_message()} (see reconcile --help)", style="red"))
        sys.exit(1)  # never 2: with --detailed-exitcode, 2 means "changes"
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except ConfigError as error:
        _print_config_error(error)
        sys.exit(1)
    except ReconcileError as error:
        err.print(Text(f"error: {error}", style="red"))
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as error:  # the one place a bug is caught: reported, never shown raw
        if debug:
            traceback.print_exc()
        err.print(
            Text(
                f"internal error ({type(error).__name__}); this is a bug in reconcile. Re-run with --debug for the traceback.",
                style="red",
            )
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
