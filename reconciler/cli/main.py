"""The console script: runs the app and turns every failure into a message and an exit code; no
traceback reaches a user unless they ask with --debug."""

from __future__ import annotations

import sys
import traceback

import typer

from reconciler.cli.app import app, err, text
from reconciler.cli.failures import failure, print_config_error
from reconciler.errors import ConfigError, Interrupted
from reconciler.startup import short_lived_process


def main() -> None:
    """The console script: runs the app and turns every failure into a message and an exit code;
    no traceback reaches a user unless they ask with --debug."""
    with short_lived_process():
        _main()


def _main() -> None:
    debug = "--debug" in sys.argv  # before or after the command: `reconcile apply --debug` too
    if debug:
        import logging

        logging.basicConfig(format="%(message)s")
        logging.getLogger("reconciler").setLevel(logging.DEBUG)
    try:
        code = app(args=[arg for arg in sys.argv[1:] if arg != "--debug"], standalone_mode=False)
    except typer.TyperException as usage:  # bad arguments or options
        err.print(text(f"error: {usage.format_message()} (see reconcile --help)", style="red"))
        sys.exit(1)  # never 2: with --detailed-exitcode, 2 means "changes"
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except ConfigError as error:
        print_config_error(error)
        sys.exit(1)
    except (Exception, Interrupted, KeyboardInterrupt) as error:  # the one place a bug is caught: reported, never shown raw
        failed = failure(error)
        if debug and failed.traceback:
            traceback.print_exc()
        err.print(text(failed.said + (". Re-run with --debug for the traceback." if failed.bug else ""), style=failed.style))
        sys.exit(failed.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
