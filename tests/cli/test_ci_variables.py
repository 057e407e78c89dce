"""Issue 23, item 2 (no engine needed): the CI's own variables are never interpolated (a located
error, whatever the operator, in YAML, in a bare environment key or in .env), and a saved plan whose
desired state changed is refused before anything is contacted (a real TCP listener counts the
connections; moto's server for the state that was planned)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Run
from tests.support.moto_server import MotoServer

CANARY = "AKIA-canary-production-key-0b7e"


@pytest.mark.parametrize(
    ("yaml", "env_file", "where"),
    [
        ("    environment: {K: '${AWS_SECRET_ACCESS_KEY}'}\n", "", "desired_state/state.yaml:4:22: containers.web.environment.K"),
        (
            "    environment: {K: '${AWS_SECRET_ACCESS_KEY:-x}'}\n",
            "",
            "desired_state/state.yaml:4:22: containers.web.environment.K",
        ),
        ("    labels: {session: '${AWS_SESSION_TOKEN}'}\n", "", "desired_state/state.yaml:4:23: containers.web.labels.session"),
        ("    labels: {a: '${A:-${RUNNER_TEMP}}'}\n", "A=1\n", "desired_state/state.yaml:4:17: containers.web.labels.a"),
        ("    environment: [GITHUB_TOKEN]\n", "", "containers.web.environment"),
        ("    environment:\n      ACTIONS_RUNTIME_TOKEN:\n", "", "containers.web.environment.ACTIONS_RUNTIME_TOKEN"),
        (
            "    command: [cat, '$HOME/.ssh/id_ed25519']\n",
            "",
            "desired_state/state.yaml:4:20: containers.web.command[1]: ${HOME}: HOME is",
        ),
        ("    environment: {K: '${K}'}\n", "K=${AWS_SHARED_CREDENTIALS_FILE}\n", "desired_state/.env:1:1: K"),
    ],
)
def test_the_ci_variables_are_never_read(tmp_path: Path, reconcile: Run, yaml: str, env_file: str, where: str) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "state.yaml").write_text(
        "hosts: {local: {docker: 'unix:///nonexistent'}}\ncontainers:\n  web:\n" + yaml + "    image: nginx:1\n"
    )
    if env_file:
        (state / ".env").write_text(env_file)
    environ = {
        "AWS_SECRET_ACCESS_KEY": CANARY, "AWS_SESSION_TOKEN": CANARY, "GITHUB_TOKEN": CANARY,
        "ACTIONS_RUNTIME_TOKEN": CANARY, "HOME": str(tmp_path), "AWS_SHARED_CREDENTIALS_FILE": CANARY,
    }  # fmt: skip
    for command in ("validate", "plan"):
        done = reconcile(command, "desired_state", env=environ)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert where in done.stderr and "is the CI's own" in done.stderr, done.stderr
        assert CANARY not in done.stdout + done.stderr


class Listener:
    """A TCP port that counts who connects to it (and closes at once)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    made = Listener()
    yield made
    made.server.close()


@pytest.mark.aws
def test_a_changed_state_is_refused_before_any_host_is_contacted(
    aws: MotoServer, tmp_path: Path, reconcile: Run, listener: Listener
) -> None:
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "state.yaml").write_text("aws: {region: us-east-1}\ns3_buckets: {trust-exports: {}}\n")
    assert reconcile("plan", "desired_state", "--out", "plan.json").returncode == 0
    (state / "hosts.yaml").write_text(
        f"hosts: {{evil: {{docker: 'tcp://127.0.0.1:{listener.port}/${{DEPLOY_NOTE:-x}}'}}}}\n"
        "containers: {web: {host: evil, image: 'nginx:1'}}\n"
    )
    done = reconcile("apply", "plan.json", env={"DEPLOY_NOTE": "prod-only-value"})
    assert done.returncode == 1
    assert "stale plan: the desired state changed since the plan was made" in done.stderr
    assert listener.connections == 0
