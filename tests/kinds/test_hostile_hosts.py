"""A host URL in a pull request points wherever it likes: at a service that is not a Docker engine
(its answer must not be reflected into the plan or the comment), or at a server that answers one
header line every 5 s (it must not hold the plan). Real servers on 127.0.0.1; the other host is
the test engine, planned all the same (issue 23, files and hosts)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.cli import Reconcile, run_reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]

CANARY = "canary-internal-answer-7f3a"


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _Internal(BaseHTTPRequestHandler):
    """An internal HTTP service: every path is 404 with a body worth stealing."""

    def do_GET(self) -> None:
        body = f'{{"message": "{CANARY}: admin token t0ps3cret"}}'.encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _SaysOk(BaseHTTPRequestHandler):
    """A health endpoint: 200 OK to everything, no Api-Version header."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal_service() -> Iterator[str]:
    yield from _serve(_Internal)


@pytest.fixture
def says_ok() -> Iterator[str]:
    yield from _serve(_SaysOk)


@pytest.fixture
def talks_lines() -> Iterator[str]:
    """Any line-based service on a port an ssh:// URL names: 150 lines of its own, then nothing."""
    listener = socket.create_server(("127.0.0.1", 0))

    def talk() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.sendall(b"".join(b"line %d %s\r\n" % (n, CANARY.encode()) for n in range(150)))
                time.sleep(1)

    threading.Thread(target=talk, daemon=True).start()
    yield f"ssh://root@127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.fixture
def trickling_host() -> Iterator[str]:
    """Answers every connection with a status line, then one header line every 5 s, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle(connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                line = 0
                while not stop.wait(5):
                    line += 1
                    connection.sendall(f"X-Trickle-{line}: {CANARY}\r\n".encode())
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def _state(tmp_path: Path, docker_host: str, other: str) -> str:
    prefix = f"hostile-{uuid.uuid4().hex[:6]}"
    (tmp_path / "desired_state" / "state.yaml").write_text(
        f"hosts:\n  local: {{docker: '{docker_host}'}}\n  other: {{docker: '{other}'}}\n"
        f"containers:\n"
        f"  {prefix}-here: {{image: {TEST_IMAGE}, host: local, command: [sleep, '300'], network_mode: none}}\n"
        f"  {prefix}-there: {{image: {TEST_IMAGE}, host: other, command: [sleep, '300'], network_mode: none}}\n"
    )
    return prefix


@pytest.mark.parametrize("server", ["internal_service", "says_ok", "talks_lines"])
def test_an_endpoint_that_is_not_a_docker_engine_is_blocked_and_its_answer_never_shown(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, server: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(server)
    prefix = _state(tmp_path, docker_host, url)
    planned = reconcile("plan", "desired_state", "--out", "plan.json", "--comment", "comment.md")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    for shown in (planned.stdout, planned.stderr, (tmp_path / "plan.json").read_text(), (tmp_path / "comment.md").read_text()):
        assert CANARY not in shown and "t0ps3cret" not in shown
    assert f"container.{prefix}-here" in planned.stdout and "1 to add" in planned.stdout
    said = {
        "internal_service": "not a Docker engine: GET /_ping answered HTTP 404",
        "says_ok": "not a Docker engine: GET /_ping answered HTTP 200 without an Api-Version header",
        "talks_lines": "not an SSH server: it answered without an SSH banner",
    }[server]
    assert f"host other: cannot reach the Docker engine at {url}: {said}" in planned.stdout


def test_a_host_that_trickles_its_answer_is_blocked_with_the_time_waited(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, trickling_host: str
) -> None:
    """The connection's check (GET /_ping) has 15 s; every later call 120 s (or what the SDK asks
    for a longer call, such as a stop's grace period), each a wall-clock deadline on the answer."""
    prefix = _state(tmp_path, docker_host, trickling_host)
    started = time.monotonic()
    planned = run_reconcile("plan", "desired_state", "--detailed-exitcode", cwd=tmp_path, timeout=60)  # before: forever
    took = time.monotonic() - started
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert took < 30, took  # the connect deadline (15 s) and the plan of the other host
    assert f"container.{prefix}-here" in planned.stdout and "1 to add" in planned.stdout
    assert (
        f"blocked: host other: cannot reach the Docker engine at {trickling_host}: no whole answer within 15 s (waited 15"
        in planned.stdout
    ), planned.stdout
    assert CANARY not in planned.stdout + planned.stderr


PRIVATE_KEY_LINES = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACBjYW5hcnlrZXlsaW5lY2FuYXJ5a2V5bGluZWNhbmFyeQ==",
    "-----END OPENSSH PRIVATE KEY-----",
]


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_a_private_key_named_as_an_env_file_reaches_no_comment_and_no_plan(
    tmp_path: Path, reconcile: Reconcile, docker_host: str, where: str
) -> None:
    """The pull request's env_file names a private key: in the repository (a line that is not
    KEY=VALUE), or outside it by a symlink; the plan fails with a located error and nothing of the
    key is in the comment, the output or a plan file."""
    key = (tmp_path / "desired_state" if where == "inside" else tmp_path.parent) / f"id_{uuid.uuid4().hex[:6]}"
    key.write_text("\n".join(PRIVATE_KEY_LINES) + "\n")
    if where == "outside":
        (tmp_path / "desired_state" / "deploy.env").symlink_to(key)
    (tmp_path / "desired_state" / "state.yaml").write_text(
        f"hosts:\n  local: {{docker: '{docker_host}'}}\ncontainers:\n"
        f"  keyed-{uuid.uuid4().hex[:6]}:\n    image: {TEST_IMAGE}\n    network_mode: none\n"
        f"    env_file: {key.name if where == 'inside' else 'deploy.env'}\n"
    )
    planned = reconcile("plan", "desired_state", "--out", "plan.json", "--comment", "comment.md")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert "state.yaml:7:" in planned.stderr
    shown = planned.stdout + planned.stderr + (tmp_path / "comment.md").read_text()
    shown += (tmp_path / "plan.json").read_text() if (tmp_path / "plan.json").exists() else ""
    for line in PRIVATE_KEY_LINES:
        assert line.strip("-=") not in shown, line
