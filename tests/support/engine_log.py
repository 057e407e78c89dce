"""A Docker engine on 127.0.0.1 (tcp://) that is the test engine behind an HTTP proxy which writes
down every request it forwards, so a test can say which calls a command made and how many.

    with logged_engine(socket_path) as engine:
        run_reconcile(..., env={"DOCKER_HOST": engine.url})
        engine.calls("GET", "/images/")  # the image inspects

Requests and answers are forwarded whole (one at a time per connection, kept alive as the client
asks); nothing is changed, except that a call a test names with ``fail(method, pattern)`` is
answered by the proxy itself with the engine's own kind of error (500, a JSON message) and never
reaches the engine."""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


@dataclass
class LoggedEngine:
    url: str
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, path without /vX.Y and query)
    failing: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)

    def calls(self, method: str, path_start: str) -> list[str]:
        return [path for m, path in self.seen if m == method and path.startswith(path_start)]

    def fail(self, method: str, pattern: str) -> None:
        """From now on, answer ``method`` calls whose path matches ``pattern`` with a 500."""
        self.failing.append((method, re.compile(pattern)))

    def fails(self, method: str, path: str) -> bool:
        return any(m == method and pattern.search(path) for m, pattern in self.failing)


@contextlib.contextmanager
def logged_engine(socket_path: str) -> Iterator[LoggedEngine]:
    lock = threading.Lock()
    engine = LoggedEngine("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = re.sub(r"^/v[0-9.]+", "", self.path.split("?")[0])
            with lock:
                engine.seen.append((self.command, path))
            if engine.fails(self.command, path):
                self.answer(500, "Internal Server Error", [], b'{"message": "injected by the test: the engine failed this call"}')
                return
            upstream = _UnixConnection(socket_path)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
            finally:
                upstream.close()
            self.answer(answer.status, answer.reason, answer.getheaders(), data)

        def answer(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status, reason)
            for key, value in headers or [("Content-Type", "application/json")]:
                if key.lower() not in HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    engine.url = f"tcp://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
