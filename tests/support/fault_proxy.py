"""An HTTP proxy on 127.0.0.1 in front of moto's server that misbehaves on purpose, by operation
and count: point AWS_ENDPOINT_URL at it and the tool meets the faults AWS really has.

    with running_fault_proxy(moto.url) as proxy:
        proxy.inject("PutObject", "reset-after", key="team-a/lock")  # the lock is written, its answer lost
        run_reconcile(..., env={"AWS_ENDPOINT_URL": proxy.url})

Faults (each applies to the next `count` matching requests, after `skip` of them pass untouched):

- ``throttle``: 400 ThrottlingException (RequestLimitExceeded for EC2's query API), not forwarded;
- ``slowdown``: 503 SlowDown, not forwarded;
- ``error5xx``: 500 InternalError, not forwarded;
- ``reset-before``: the request is read, then the connection is reset (RST): the call never reached AWS;
- ``reset-after``: the request is forwarded (it takes effect), then the connection is reset before
  any answer: the client cannot know it happened;
- ``reset-mid-body``: forwarded, the answer's headers and half its body are sent, then a reset;
- ``stall``: ``seconds`` of silence, then the request is forwarded as usual;
- ``deny``: 403 AccessDenied (UnauthorizedOperation for EC2), not forwarded: what a service control
  policy that denies a region answers.

A fault may match any operation (``"*"``) and only requests signed for one ``region`` (the region
of the SigV4 credential scope in the Authorization header).

The operation is named from the request as AWS names it: S3's REST calls by method, bucket, key
and sub-resource (PutObject, GetObject, CreateBucket, PutBucketTagging, …), the query APIs (EC2) by
their Action, the JSON APIs by X-Amz-Target. Every request is logged in ``seen`` as
(operation, path, fault or ""), so a test can say what happened.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("throttle", "slowdown", "error5xx", "reset-before", "reset-after", "reset-mid-body", "stall", "deny")
S3_SUBRESOURCES = {
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "encryption": "BucketEncryption",
    "publicAccessBlock": "PublicAccessBlock",
    "lifecycle": "BucketLifecycleConfiguration",
    "location": "BucketLocation",
    "policy": "BucketPolicy",
}
VERBS = {"PUT": "Put", "GET": "Get", "DELETE": "Delete", "HEAD": "Head"}


@dataclass
class Fault:
    operation: str
    kind: str
    count: int = 1
    key: str = ""  # a substring the request's path must hold (e.g. "team-a/lock")
    skip: int = 0  # matching requests let through before the fault starts
    seconds: float = 0.0  # for a stall
    region: str = ""  # only requests signed for this region
    hits: int = 0  # times it was injected

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(KINDS)}")


def s3_operation(method: str, path: str, query: dict[str, list[str]]) -> str:
    bucket, _, key = urllib.parse.unquote(path).lstrip("/").partition("/")
    if not bucket:
        return "ListBuckets"
    if key:
        return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    for sub, name in S3_SUBRESOURCES.items():
        if sub in query:
            return VERBS.get(method, method) + name
    if method == "GET":
        return "ListObjectVersions" if "versions" in query else "ListObjectsV2" if "list-type" in query else "ListObjects"
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, method)


def operation_of(method: str, path: str, headers: Any, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rpartition(".")[2]
    if method == "POST" and "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return action[0]
    parsed = urllib.parse.urlsplit(path)
    return s3_operation(method, parsed.path, urllib.parse.parse_qs(parsed.query, keep_blank_values=True))


def error_answer(operation: str, headers: Any, status: int, code: str) -> tuple[int, str, bytes]:
    """An error in the protocol the caller speaks: JSON, EC2's query XML, or S3's XML."""
    message = f"injected by the fault proxy ({operation})"
    if headers.get("X-Amz-Target"):
        return status, "application/x-amz-json-1.1", f'{{"__type": "{code}", "message": "{message}"}}'.encode()
    if "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        code = {"ThrottlingException": "RequestLimitExceeded", "AccessDenied": "UnauthorizedOperation"}.get(code, code)
        xml = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>f</RequestID></Response>"
        return status, "text/xml", xml.encode()
    return status, "application/xml", f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


ERRORS = {
    "throttle": (400, "ThrottlingException"),
    "slowdown": (503, "SlowDown"),
    "error5xx": (500, "InternalError"),
    "deny": (403, "AccessDenied"),
}


def signed_region(headers: Any) -> str:
    """The region of the request's SigV4 credential scope (Credential=KEY/DATE/REGION/SERVICE/aws4_request)."""
    credential = (headers.get("Authorization") or "").partition("Credential=")[2].partition(",")[0]
    parts = credential.split("/")
    return parts[2] if len(parts) >= 5 else ""


@dataclass
class FaultProxy:
    upstream: str  # http://127.0.0.1:PORT of moto's server
    url: str = ""
    faults: list[Fault] = field(default_factory=list)
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (operation, request body), every request
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(
        self, operation: str, kind: str, count: int = 1, key: str = "", skip: int = 0, seconds: float = 0.0, region: str = ""
    ) -> Fault:
        fault = Fault(operation, kind, count, key, skip, seconds, region)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.seen.clear()
            self.bodies.clear()

    def injected(self, kind: str | None = None) -> list[tuple[str, str, str]]:
        return [entry for entry in self.seen if entry[2] and (kind is None or entry[2] == kind)]

    def _choose(self, operation: str, path: str, region: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    fault.operation not in (operation, "*")
                    or fault.key not in urllib.parse.unquote(path)
                    or fault.hits >= fault.count
                ):
                    continue
                if fault.region and fault.region != region:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.hits += 1
                return fault
            return None

    def _log(self, operation: str, path: str, fault: Fault | None, body: bytes) -> None:
        with self._lock:
            self.seen.append((operation, path, fault.kind if fault else ""))
            self.bodies.append((operation, body))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # so the client's Expect: 100-continue is answered
    proxy: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reset(self) -> None:
        """A TCP reset (RST), as a dropped connection or a crashed load balancer gives."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        upstream = urllib.parse.urlsplit(self.proxy.upstream)
        connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=120)
        skipped = {"expect", "transfer-encoding", "connection", "content-length", "host"}
        headers = {name: value for name, value in self.headers.items() if name.lower() not in skipped}
        headers["Content-Length"] = str(len(body))
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = b"" if self.command == "HEAD" else answer.read()
            return answer.status, answer.reason, answer.getheaders(), payload
        finally:
            connection.close()

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes, cut: bool = False) -> None:
        skipped = {"transfer-encoding", "connection", "content-length", "date", "server"}
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in headers if name.lower() not in skipped]
        length = next((value for name, value in headers if name.lower() == "content-length"), None)
        lines += [f"Content-Length: {length if self.command == 'HEAD' and length else len(body)}", "Connection: close"]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.wfile.write(body[: len(body) // 2] if cut else body)
        self.wfile.flush()
        self.close_connection = True

    def _handle(self) -> None:
        body = self._body()
        operation = operation_of(self.command, self.path, self.headers, body)
        fault = self.proxy._choose(operation, self.path, signed_region(self.headers))
        self.proxy._log(operation, self.path, fault, body)
        kind = fault.kind if fault else ""
        if kind in ERRORS:
            status, content_type, payload = error_answer(operation, self.headers, *ERRORS[kind])
            self._send(status, "Injected", [("Content-Type", content_type)], payload)
            return
        if kind == "reset-before":
            self._reset()
            return
        if kind == "stall":
            time.sleep(fault.seconds if fault else 0)
        status, reason, headers, payload = self._forward(body)
        if kind == "reset-after":
            self._reset()
        elif kind == "reset-mid-body":
            self._send(status, reason, headers, payload, cut=True)
            self._reset()
        else:
            self._send(status, reason, headers, payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


@contextlib.contextmanager
def running_fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    handler = type("Handler", (_Handler,), {"proxy": proxy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
