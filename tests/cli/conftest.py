from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired_state"
EXAMPLE_ENV = {"REDIS_PASSWORD": "Zq-example-secret-7f3a"}

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def reconcile(tmp_path: Path) -> Run:
    """Runs `reconcile ARGS…` as a user would (a new process, no TTY), from a scratch directory."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if k not in ("REDIS_PASSWORD", "RECONCILE_STATE_DIR")}
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            capture_output=True, text=True, env=environ, cwd=cwd or tmp_path, timeout=60, check=False,
        )  # fmt: skip

    return run
