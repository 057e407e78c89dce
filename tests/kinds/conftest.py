"""The fixtures engine tests share: `reconcile` (test_containers and test_import keep their own),
`prefix` (a name prefix of the test's own, so tests never see each other's containers) and `state`
(an empty desired_state/ directory)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile, run_reconcile


@pytest.fixture
def reconcile(tmp_path: Path, docker_client: docker.DockerClient) -> Reconcile:
    """`reconcile ARGS…` as a user runs it, from tmp_path, which holds an empty desired_state/, with
    an image-file cache of the test's own (so a test never reads what another one cached)."""
    (tmp_path / "desired_state").mkdir(exist_ok=True)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_reconcile(*args, cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache")})

    return run


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:6]}"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "desired_state"
    directory.mkdir()
    return directory
