"""The command line: arguments → calls → output → exit code. The only package that prints or exits.

app.py is the typer app and its consoles; options.py the options several commands take; each
command is one module, registered on the app when imported below (in the order --help lists them);
main.py runs the app and failures.py turns every failure into a message and an exit code, once.
What keeps start-up short is reconciler/startup.py."""

from __future__ import annotations

from reconciler.startup import defer_paramiko

defer_paramiko()  # the docker SDK, whichever command first imports it, comes without paramiko: only ssh:// hosts load it

# isort: off
from reconciler.cli import validate, schema, plan, apply, force_unlock, docs, prices, import_command, watch, unpack_pr, daemon  # noqa: E402, F401
from reconciler.cli.app import app  # noqa: E402
from reconciler.cli.main import main  # noqa: E402

# isort: on

__all__ = ["app", "main"]
