"""The resident process's messages: one JSON object per line, on a unix stream socket; the client's
first message carries its standard streams (SCM_RIGHTS). Standard library only.

    client → daemon   {"fingerprint", "argv", "cwd", "env", "umask", "gid", "groups"} + fds 0, 1, 2
    daemon → client   {"refused": WHY} and the end, or {"ready": true}
    client → daemon   {"go": true}: from here the client never runs the command itself
    child  → client   {"pid": N}: the command runs (signals go to N), or {"fallback": WHY}: it does not
    child  → client   {"exit": CODE} once the command ended
    daemon → client   {"signal": N} when the child was killed by a signal, then the end"""

from __future__ import annotations

import json
import socket
from typing import Any

STREAMS = 3
LINE_MAX = 1 << 22  # 4 MiB: an environment is far smaller


class Closed(Exception):
    """The other side ended the connection."""


class Lines:
    """Reads the messages of one connection, keeping what came after a line for the next read."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = b""

    def read(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            if len(self.buffer) > LINE_MAX:
                raise Closed("message too long")
            chunk = self.connection.recv(65536)
            if not chunk:
                raise Closed("connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise Closed("not a message")
        return message

    def read_with_fds(self) -> tuple[dict[str, Any], list[int]]:
        """The first message and the descriptors sent with it."""
        data, fds, _flags, _address = socket.recv_fds(self.connection, 65536, STREAMS)
        if not data:
            raise Closed("connection closed")
        self.buffer += data
        return self.read(), fds


def send(connection: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    if fds:
        sent = socket.send_fds(connection, [data], fds)
        data = data[sent:]
    connection.sendall(data)
