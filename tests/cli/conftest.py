from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import run_reconcile

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired_state"
EXAMPLE_ENV = {"REDIS_PASSWORD": "Zq-example-secret-7f3a"}

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def reconcile(tmp_path: Path) -> Run:
    """Runs `reconcile ARGS…` as a user would (a new process, no TTY), from a scratch directory."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=cwd or tmp_path, env=env, timeout=60)

    return run
