"""Connections to Docker engines and the translation of their errors. No decisions are made here.

A host is reached by its URL: ``unix://`` (or DOCKER_HOST, else the local socket, for a host
without one), ``tcp://`` with TLS client certificates, or ``ssh://`` (clients/ssh.py, imported with
paramiko only when an ssh:// host connects: startup.defer_paramiko). Every
connection is made and checked at once (the engine's API version is asked within
CONNECT_SECONDS), so a host that cannot be reached is known before any work starts on it, with
the cause in words (`explain`)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import docker
import docker.constants
import docker.errors
import requests
import requests.exceptions
import urllib3.exceptions
from docker.tls import TLSConfig
from docker.utils import kwargs_from_env

from reconciler.clients.transport import (
    DeadlineExceeded,
    NotAnEngine,
    answered_within,
    negotiated_version,
    reuse_connections,
    within_deadline,
)
from reconciler.errors import ReconcileError
from reconciler.model.sensitive import REDACTED, Sensitive, reveal
from reconciler.model.spec import Host, Tls

if TYPE_CHECKING:
    import paramiko

    from reconciler.clients.ssh import SshAdapter, SshTarget

NotFound = docker.errors.NotFound
APIError = docker.errors.APIError

CONNECT_SECONDS = 15
LOCAL_SOCKET = "http+docker://localhost"  # the SDK's base URL for a unix:// engine
CALL_SECONDS = 120
_SSH_BASE_URL = "http+docker://ssh"  # as the SDK names an ssh:// engine
_SSH_PLACEHOLDER_URL = "tcp://ssh.invalid:22"  # what an Engine over SSH is made on, then replaced; .invalid never resolves

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,  # over SSH, paramiko's errors too (clients/ssh.py)
    OSError,
    EOFError,
)
"""What a call to an engine raises when the host, not the request, is the trouble."""
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, ValueError)  # ValueError: an ssh:// URL without a host


class DockerUnavailable(ReconcileError):
    """A host's engine cannot be reached; only that host's resources fail."""


HOST_UNREACHABLE: tuple[type[BaseException], ...] = (DockerUnavailable, *CONNECTION_ERRORS)


def engine_url(host: Host) -> str | None:
    return None if host.docker is None else reveal(host.docker)


def shown_url(host: Host) -> str:
    if host.docker is None:
        return "DOCKER_HOST or the local socket"
    return REDACTED if isinstance(host.docker, Sensitive) else host.docker


class Engine(docker.APIClient):
    """A low-level client of one host's engine, holding what its connection needs beyond the SDK:
    the SSH connection (``ssh``) and the TLS files written from PEM text, removed on close.

    Over SSH the SDK is given no ssh:// URL: its ssh:// branch builds an adapter from what it bound
    when first imported, which without paramiko (startup.defer_paramiko) is nothing. The client
    is made on a placeholder tcp:// URL, never connected to, and `_over_ssh` then does what that
    branch does, with our adapter."""

    def __init__(
        self,
        host_name: str,
        base_url: str | None,
        pool_size: int,
        tls: TLSConfig | bool = False,
        ssh: SshTarget | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.host_name = host_name
        self.scratch = scratch
        self.ssh_adapter: SshAdapter | None = None
        super().__init__(
            base_url=_SSH_PLACEHOLDER_URL if ssh is not None else base_url,
            version=docker.constants.MINIMUM_DOCKER_API_VERSION,  # the engine's own is asked below
            timeout=CONNECT_SECONDS,
            tls=tls,
            max_pool_size=pool_size,
        )
        if ssh is not None:
            from reconciler.clients.ssh import SshAdapter

            self._over_ssh(SshAdapter(ssh, CALL_SECONDS, pool_size))
        reuse_connections(self, self.base_url)
        self._version = negotiated_version(self)
        self.timeout = CALL_SECONDS

    def _over_ssh(self, adapter: SshAdapter) -> None:
        """What APIClient.__init__ does for an ssh:// URL, with our adapter: mounted where the SDK
        mounts its own, plain HTTP(S) unmounted, and the base URL by which the SDK's stream code
        (attach, logs) knows an SSH channel."""
        self.ssh_adapter = adapter
        self._custom_adapter = adapter
        self.mount(_SSH_BASE_URL, adapter)
        for scheme in ("http://", "https://"):
            self.adapters.pop(scheme).close()
        self.base_url = _SSH_BASE_URL

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Every call to the engine, its timeout a wall-clock deadline (CONNECT_SECONDS for the
        first, CALL_SECONDS after, or what the SDK asks for a longer call such as a stop)."""
        return answered_within(super().send, request, **kwargs)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        """The host's own CA (tls.ca) is what verifies its engine; REQUESTS_CA_BUNDLE or
        CURL_CA_BUNDLE in the environment would otherwise replace it."""
        settings: Any = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str):
            settings["verify"] = self.verify
        return settings

    @property
    def ssh(self) -> paramiko.SSHClient | None:
        """The host's SSH connection (ssh:// hosts), for reading the host beyond the Docker API."""
        if self.ssh_adapter is None:
            return None
        self.ssh_adapter.get_connection("http+docker://ssh")  # reconnects if it dropped
        client: paramiko.SSHClient | None = self.ssh_adapter.ssh_client
        return client

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
                self.scratch = None


def connect(name: str, host: Host, pool_size: int, base_dir: Path | None = None) -> Engine:
    """A client of ``host``'s engine (its URL, else DOCKER_HOST, else the local socket), with a
    connection pool large enough for the run's parallelism, checked to answer. Relative paths
    (TLS files, identity_file) are read from ``base_dir``."""
    scratch: Path | None = None
    try:
        url = engine_url(host)
        if url is None:
            from_env = os.environ.get("DOCKER_HOST", "")
            if from_env.startswith("ssh://"):
                return Engine(name, from_env, pool_size, ssh=_ssh_target(from_env))
            params = kwargs_from_env()
            return Engine(name, params.get("base_url"), pool_size, tls=params.get("tls", False))
        if url.startswith("ssh://"):
            return Engine(name, url, pool_size, ssh=_ssh_target(url, host.identity_file, base_dir))
        if host.tls is not None:
            tls, scratch = tls_files(name, host.tls, base_dir)
            return Engine(name, url, pool_size, tls=tls, scratch=scratch)
        return Engine(name, url, pool_size)
    except DockerUnavailable:
        raise
    except _CONNECT_ERRORS as error:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise DockerUnavailable(unreachable(name, shown_url(host), error)) from None


def _ssh_target(url: str, identity_file: str | None = None, base_dir: Path | None = None) -> SshTarget:
    from reconciler.clients.ssh import target_of  # imports paramiko: only an ssh:// host pays for it

    return target_of(url, identity_file, base_dir)


def unreachable(name: str, shown: str, error: BaseException) -> str:
    return f"host {name}: cannot reach the Docker engine at {shown}: {explain(error)}"


def tls_files(name: str, tls: Tls, base_dir: Path | None) -> tuple[TLSConfig, Path | None]:
    """The SDK's TLS settings from ``tls: {ca, cert, key}``: each a path, or PEM text (from
    ${VAR}) written to a private file (0600, in a 0700 directory) that lives as long as the client."""
    scratch: Path | None = None
    paths: dict[str, str] = {}
    try:
        for part in ("ca", "cert", "key"):
            value = getattr(tls, part)
            text = reveal(value)
            if "-----BEGIN " in text:
                scratch = scratch or Path(tempfile.mkdtemp(prefix="reconcile-tls-"))
                path = scratch / f"{part}.pem"
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w") as file:
                    file.write(text if text.endswith("\n") else text + "\n")
            else:
                path = Path(text).expanduser()
                if not path.is_absolute() and base_dir is not None:
                    path = base_dir / path
                if not path.is_file():
                    shown = REDACTED if isinstance(value, Sensitive) else str(path)
                    raise DockerUnavailable(f"host {name}: tls.{part}: no such file: {shown}")
            paths[part] = str(path)
        return TLSConfig(client_cert=(paths["cert"], paths["key"]), ca_cert=paths["ca"], verify=True), scratch
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise


def ssh_of(client: docker.APIClient) -> paramiko.SSHClient | None:
    """The SSH connection under a client of an ssh:// host, else None."""
    return client.ssh if isinstance(client, Engine) else None


def _paramiko_error(name: str) -> tuple[type[Any], ...]:
    """paramiko's exception class ``name``, once paramiko is in use (an ssh:// host connected); ()
    before: an error of paramiko cannot exist before paramiko is imported, so nothing imports it here."""
    found = getattr(sys.modules.get("paramiko.ssh_exception"), name, None)
    return (found,) if isinstance(found, type) and issubclass(found, BaseException) else ()


def _causes(error: BaseException) -> list[BaseException]:
    """The error and everything it wraps (causes, contexts, urllib3's reasons, paramiko's
    per-address errors), outermost first."""
    seen: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        if isinstance(current, _paramiko_error("NoValidConnectionsError")):
            pending += list(getattr(current, "errors", {}).values())
    return seen


def _ssh_cause(errors: list[BaseException]) -> str | None:
    bad_host_key, ssh_error, refused = (
        _paramiko_error(name) for name in ("BadHostKeyException", "SSHException", "AuthenticationException")
    )
    for error in errors:
        if isinstance(error, bad_host_key):
            return (
                f"host key mismatch: {error.hostname} presented a {error.key.get_name()} key "
                f"{error.key.fingerprint} that is not the one in known_hosts (if the host was rebuilt, "
                "check the new key and replace the old line; otherwise someone may be in between)"
            )
    for error in errors:
        if isinstance(error, ssh_error) and "not found in known_hosts" in str(error):
            server = str(error).split("'")[1] if str(error).count("'") >= 2 else "the server"
            return (
                f"unknown host key: {server} is not in known_hosts (verify its fingerprint, then add it, "
                "e.g. by connecting once with ssh)"
            )
        if isinstance(error, ssh_error) and str(error).startswith("Indecipherable protocol version"):
            return "not an SSH server: it answered without an SSH banner (what it sent is not shown)"
        if isinstance(error, refused) or "No authentication methods available" in str(error):
            return "SSH authentication failed: no key from the agent, identity_file or ~/.ssh was accepted"
    return None


def _tls_cause(errors: list[BaseException]) -> str | None:
    for error in errors:
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"TLS verification failed: {error.verify_message or error.reason}"
    for error in errors:
        text = str(error)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            detail = text.split("certificate verify failed:", 1)[-1].split("(")[0].strip(" )'\"")
            return f"TLS verification failed: {detail}" if detail and detail != text else "TLS verification failed"
        if isinstance(error, ssl.SSLError) or "SSLError" in text or "SSLV3_ALERT" in text or "TLSV1" in text:
            if any(alert in text.upper() for alert in ("CERTIFICATE_REQUIRED", "BAD_CERTIFICATE", "UNKNOWN_CA")):
                return "TLS handshake refused: the engine did not accept our client certificate"
            if "WRONG_VERSION_NUMBER" in text or "RECORD_LAYER_FAILURE" in text:
                return "TLS handshake failed: the engine does not speak TLS on this port"
            if "EOF" in text:
                return "TLS handshake failed: the engine closed the connection (did it refuse our client certificate?)"
    return None


def explain(error: BaseException) -> str:
    """One line a user can act on, from whatever the SDK (or paramiko, or the TLS layer) raised."""
    if isinstance(error, docker.errors.APIError):
        return str(error.explanation or error).strip()
    if isinstance(error, (NotAnEngine, DeadlineExceeded)):
        return str(error)  # our own words, nothing of the server's
    causes = _causes(error)
    said = _ssh_cause(causes) or _tls_cause(causes)
    if said:
        return said
    text = " ".join(str(cause) for cause in causes)
    rules: list[tuple[tuple[type[BaseException], ...], tuple[str, ...], str]] = [
        ((ConnectionRefusedError, *_paramiko_error("NoValidConnectionsError")), ("Connection refused",), "connection refused"),
        ((TimeoutError, requests.exceptions.Timeout), ("timed out",), "timed out"),
        ((socket.gaierror,), ("Name or service not known", "Temporary failure in name resolution"), "unknown host name"),
        ((FileNotFoundError,), ("FileNotFoundError", "No such file"), "no such socket"),
        ((PermissionError,), ("Permission denied",), "permission denied"),
        (
            (http.client.RemoteDisconnected, EOFError),
            ("Remote end closed connection", "Connection aborted"),
            "the engine closed the connection without answering (over SSH: is `docker` on the host's PATH, "
            "and may the SSH user use the engine's socket?)",
        ),
    ]
    for types, needles, meaning in rules:
        if any(isinstance(cause, types) for cause in causes) or any(needle in text for needle in needles):
            return meaning
    lines = str(error).strip().splitlines()
    return lines[-1] if lines else type(error).__name__


def inspect_container(client: docker.APIClient, reference: str) -> dict[str, Any]:
    """client.inspect_container. On a local socket (unix://), straight through the SDK's own kept
    connection pool, under the same deadline, without requests' work around each call (half the
    CPU of an inspect: a plan of 100 containers makes 100). An answer that is not 200, or a
    connection that fails, is asked again through the SDK, which raises its own errors."""
    if client.base_url == LOCAL_SOCKET:
        path = f"/v{client.api_version}/containers/{quote(reference, safe='')}/json"
        pool = client.get_adapter(client.base_url).get_connection(client.base_url)  # type: ignore[attr-defined]
        with contextlib.suppress(urllib3.exceptions.HTTPError):
            answer = within_deadline(client.timeout, lambda: pool.urlopen("GET", path, retries=False, timeout=client.timeout))
            if answer.status == 200:
                found: dict[str, Any] = json.loads(answer.data)
                return found
    record: dict[str, Any] = client.inspect_container(reference)
    return record


def inspect_image(client: docker.APIClient, reference: str) -> dict[str, Any] | None:
    """The image's inspect record, or None when it is not on the host (never pulls)."""
    try:
        record: dict[str, Any] = client.inspect_image(reference)  # type: ignore[no-untyped-call]
    except docker.errors.NotFound:
        return None
    return record


def update_resources(client: docker.APIClient, container_id: str, body: dict[str, Any]) -> None:
    """POST /containers/{id}/update with any of RestartPolicy, Memory, MemorySwap, NanoCpus (the
    SDK's update_container has no NanoCpus)."""
    response = client.post(f"{client.base_url}/v{client.api_version}/containers/{container_id}/update", json=body)
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise docker.errors.APIError(message, response=response, explanation=message)
