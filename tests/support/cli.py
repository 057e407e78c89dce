"""Run `reconcile` as a user does: a new process, no TTY, the environment we give it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Reconcile = Callable[..., subprocess.CompletedProcess[str]]  # a fixture that runs `reconcile ARGS…`

SCRUBBED = ("RECONCILE_STATE_DIR", "REDIS_PASSWORD")


def run_reconcile(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True, text=True, env=environ, cwd=cwd, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
