"""`reconcile apply` on a terminal, as a person runs it: it shows the plan, asks before changing
anything, and draws live progress while it works (a real pseudo-terminal, not a mock)."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def run_on_terminal(args: list[str], cwd: Path, answer: str | None) -> tuple[int, str]:
    """Runs reconcile on a pseudo-terminal; types ``answer`` at the confirmation prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes reconcile
        os.chdir(cwd)
        os.execvpe(sys.executable, [sys.executable, "-m", "reconciler", *args], {**os.environ, "COLUMNS": "160", "TERM": "xterm"})
    seen = b""
    answered = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if answer is not None and not answered and b"Apply these changes?" in seen:
            os.write(fd, answer.encode() + b"\r")
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, str]:
    name = f"t{uuid.uuid4().hex[:6]}-tty"
    directory = tmp_path / "desired_state"
    directory.mkdir()
    (directory / "c.yaml").write_text(
        f"containers:\n  {name}:\n    image: {TEST_IMAGE}\n    command: [sleep, '300']\n    network_mode: none\n    init: true\n"
    )
    return tmp_path, name


def test_apply_asks_first_and_shows_live_progress(state: tuple[Path, str], docker_client: docker.DockerClient) -> None:
    cwd, name = state
    code, screen = run_on_terminal(["apply", "desired_state"], cwd, answer="y")
    assert code == 0, screen
    assert f"+ container.{name}" in screen
    assert "Apply these changes?" in screen
    assert "\x1b[" in screen  # drawn with terminal control sequences: colour and the live display
    assert "Apply complete:" in screen
    assert docker_client.containers.get(name).status == "running"


def test_answering_no_changes_nothing(state: tuple[Path, str], docker_client: docker.DockerClient) -> None:
    cwd, name = state
    code, screen = run_on_terminal(["apply", "desired_state"], cwd, answer="n")
    assert code == 1, screen
    assert "aborted" in screen.lower()
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)
