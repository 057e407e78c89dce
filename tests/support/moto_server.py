"""A local AWS emulator for the tests that need one (marked `aws`): moto's server in its own process
on 127.0.0.1, on a free port of its own (so parallel test sessions never share one), reached by the
tool exactly as a user would point it at an emulator: through AWS_ENDPOINT_URL.

`reset()` empties it between tests (POST /moto-api/reset), far cheaper than a new process.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class MotoServer:
    url: str

    @property
    def environment(self) -> dict[str, str]:
        """What a process needs to talk to this server (and to nothing else)."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/config", timeout=5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def running_moto_server() -> Iterator[MotoServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # moto logs every request to stderr: a file, never a pipe nobody reads (a full pipe blocks moto).
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60  # a loaded 2-core CI machine is slow to start it
            while not _answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"moto server did not start on {url}: {log.read()[-2000:].decode(errors='replace')}")
                time.sleep(0.05)
            yield MotoServer(url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
