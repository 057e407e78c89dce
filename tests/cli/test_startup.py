"""Start-up stays short: importing the CLI (what every `reconcile` pays before it parses an
argument) brings in typer and the CLI's own modules, nothing a command imports when it runs; and
no command's --help imports a client library. The figures behind this are in reconciler/startup.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# typer imports these two only when it formats help or converts a parameter; each costs more than
# `reconcile --version` may (reconciler/startup.py: rich's console is made on first print).
TYPER_ON_USE = {"rich", "pydantic"}
CLIENTS = ("docker", "paramiko", "boto3", "botocore", "git", "requests", "ruamel", "yaml")
COMMANDS = ("validate", "schema", "plan", "apply", "force-unlock", "docs", "prices", "import", "watch", "unpack-pr", "daemon")

WHAT_THE_IMPORT_LOADS = """
import json, sys
from importlib.metadata import packages_distributions, requires
before = set(sys.modules)
import reconciler.cli
new = sorted(set(sys.modules) - before)
typer_own = {"typer", *(r.split(";")[0].split(">")[0].split("=")[0].strip().lower() for r in requires("typer") or [])}
distributions = packages_distributions()
outside = sorted(
    top for top in {name.split(".")[0] for name in new}
    if top not in sys.stdlib_module_names and top != "reconciler"
    and not {d.lower() for d in distributions.get(top, [top])} & typer_own
)
print(json.dumps({"reconciler": [n for n in new if n.split(".")[0] == "reconciler"], "outside_typer": outside,
                  "top": sorted({n.split(".")[0] for n in new})}))
"""


def test_importing_the_cli_loads_typer_and_the_cli_and_nothing_a_command_imports_when_it_runs() -> None:
    done = subprocess.run([sys.executable, "-c", WHAT_THE_IMPORT_LOADS], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout)
    ours = {name for name in loaded["reconciler"] if not name.startswith("reconciler.cli.")}
    assert ours == {"reconciler", "reconciler.cli", "reconciler.errors", "reconciler.startup"}, (
        "a command module imports at module level what it should import when it runs"
    )
    assert loaded["outside_typer"] == []
    assert set(loaded["top"]) & TYPER_ON_USE == set()


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_imports_no_client_library(command: str) -> None:
    reporting = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print('LOADED ' + json.dumps([m for m in {CLIENTS!r} if m in sys.modules]), file=sys.stderr))\n"
        "from reconciler.cli import main\n"
        "sys.argv[0] = 'reconcile'\n"
        "main()\n"
    )
    args = [command, "--help"] if command else ["--help"]
    done = subprocess.run([sys.executable, "-c", reporting, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Usage: reconcile" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "LOADED []"
