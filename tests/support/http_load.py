"""A bounded HTTP load generator that counts every request's outcome.

    python -m tests.support.http_load --port 8080 --rate 200 --seconds 20 [--host 127.0.0.1]

Open loop: request i is sent at start + i/rate whatever the earlier ones are doing (a pool of
threads; a late request is sent as soon as a thread is free), each on a connection of its own
(`Connection: close`, as `ab` without -k; `--keep-alive`: each thread keeps one, as `ab -k`, and
opens a new one after a failure), with a 5 s timeout. Prints one JSON object: each
request's [sent, answered] times (seconds since `begin`, the wall clock at the start), HTTP status (0: no answer) and body or
error. Used only on loopback or inside a network namespace of our own (`in_namespace`): the
engine's published ports live in its namespace (scripts/docker-engine RECONCILER_ENGINE_NETNS=1).

`summary()` reads that: requests, failures (anything but a 200), p99 latency, and which body
answered first when (each test container answers with its own id).
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 5.0


def one(host: str, port: int, begin: float, path: str = "/", host_header: str | None = None) -> list[Any]:
    sent = time.monotonic() - begin
    try:
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        headers = {"Connection": "close", **({"Host": host_header} if host_header else {})}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        body = answer.read().decode(errors="replace").strip()
        connection.close()
        return [sent, time.monotonic() - begin, answer.status, body[:80]]
    except (OSError, http.client.HTTPException) as error:
        return [sent, time.monotonic() - begin, 0, f"{type(error).__name__}: {error}"[:120]]


def kept(local: threading.local, host: str, port: int, begin: float) -> list[Any]:
    """A request on the thread's kept connection (HTTP/1.1 keep-alive; a new one after a failure)."""
    sent = time.monotonic() - begin
    try:
        if getattr(local, "connection", None) is None:
            local.connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        local.connection.request("GET", "/")
        answer = local.connection.getresponse()
        body = answer.read().decode(errors="replace").strip()
        if answer.will_close:
            local.connection.close()
            local.connection = None
        return [sent, time.monotonic() - begin, answer.status, body[:80]]
    except (OSError, http.client.HTTPException) as error:
        local.connection.close()
        local.connection = None
        return [sent, time.monotonic() - begin, 0, f"{type(error).__name__}: {error}"[:120]]


def run(host: str, port: int, rate: float, seconds: float, threads: int = 64, keep_alive: bool = False) -> list[list[Any]]:
    total = int(rate * seconds)
    results: list[list[Any]] = [[] for _ in range(total)]
    begin = time.monotonic()
    local = threading.local()

    def at(index: int) -> None:
        results[index] = kept(local, host, port, begin) if keep_alive else one(host, port, begin)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for index in range(total):
            delay = begin + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(at, index)
    return results


@dataclass(frozen=True)
class Summary:
    requests: int
    failures: int
    p99_ms: float
    errors: list[str]  # the first few failures, as the generator saw them
    first_answer: dict[str, float]  # body → when it first answered (seconds since the start)
    last_answer: dict[str, float]  # body → when it last answered


def summary(results: list[list[Any]]) -> Summary:
    failed = [r for r in results if r[2] != 200]
    latencies = sorted(r[1] - r[0] for r in results)
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for _sent, answered, status, body in sorted(results, key=lambda r: r[1]):
        if status == 200:
            first.setdefault(body, answered)
            last[body] = answered
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0
    errors = [f"{r[0]:.2f}s: {r[2]} {r[3]}" for r in failed[:5]]
    return Summary(len(results), len(failed), p99, errors, first, last)


def in_namespace(pid: int, port: int, rate: float, seconds: float, keep_alive: bool = False) -> subprocess.Popen[str]:
    """The generator in the network namespace of process ``pid`` (the engine's), against its loopback."""
    command = ["nsenter", "-t", str(pid), "-n", sys.executable, "-m", "tests.support.http_load"]
    arguments = ["--port", str(port), "--rate", str(rate), "--seconds", str(seconds)] + (["--keep-alive"] if keep_alive else [])
    return subprocess.Popen([*command, *arguments], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def get_in_namespace(pid: int, port: int, path: str, host_header: str) -> tuple[int, str]:
    """One GET in the network namespace of process ``pid``: its status and body."""
    command = ["nsenter", "-t", str(pid), "-n", sys.executable, "-m", "tests.support.http_load", "--port", str(port)]
    done = subprocess.run(
        [*command, "--get", path, "--host-header", host_header], cwd=REPO, capture_output=True, text=True, check=True
    )
    _, _, status, body = json.loads(done.stdout)
    return int(status), str(body)


def results_of(process: subprocess.Popen[str], timeout: float) -> tuple[float, list[list[Any]]]:
    """The wall-clock time the load began (to compare with the engine's events), and the results."""
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {process.returncode}): {err[-2000:]}")
    done = json.loads(out)
    return float(done["begin"]), done["results"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--get", metavar="PATH", help="one GET of PATH instead of the load: [sent, answered, status, body]")
    parser.add_argument("--host-header", help="with --get: the Host header to send")
    parser.add_argument("--keep-alive", action="store_true", help="each thread keeps its connection (HTTP/1.1 keep-alive)")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("load goes to loopback only (run it inside the engine's network namespace)")
    if args.get:
        json.dump(one(args.host, args.port, time.monotonic(), args.get, args.host_header), sys.stdout)
        return 0
    begin = time.time()
    results = run(args.host, args.port, args.rate, args.seconds, keep_alive=args.keep_alive)
    json.dump({"begin": begin, "results": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    sys.exit(main())
