"""What a user reads when a Docker host cannot be reached: `explain` turns what the SDK, paramiko,
urllib3 and the TLS layer raise (often wrapped two or three deep) into the cause. Pure."""

from __future__ import annotations

import http.client
import io
import socket
import ssl

import docker.errors
import paramiko
import pytest
import requests.exceptions
import urllib3.exceptions
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519 as curve
from paramiko.ssh_exception import NoValidConnectionsError

from reconciler.clients.docker import explain, unreachable
from reconciler.plan.schema import Action, Blocked, Plan, StateInfo, Summary
from reconciler.render.text import by_host, render_plan


def wrapped(error: BaseException) -> BaseException:
    """As the SDK raises it at connect: DockerException from requests' ConnectionError from urllib3's."""
    retry = urllib3.exceptions.MaxRetryError(None, "/version", reason=error)  # type: ignore[arg-type]
    try:
        try:
            raise requests.exceptions.ConnectionError(retry)
        except requests.exceptions.ConnectionError as inner:
            raise docker.errors.DockerException(f"Error while fetching server API version: {inner}") from inner
    except docker.errors.DockerException as outer:
        return outer


def certificate_error(message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    error.verify_message = message
    return error


def ed25519() -> paramiko.PKey:
    key = curve.Ed25519PrivateKey.generate()
    text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    return paramiko.Ed25519Key(file_obj=io.StringIO(text.decode()))


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (wrapped(ConnectionRefusedError(111, "Connection refused")), "connection refused"),
        (NoValidConnectionsError({("127.0.0.1", 22): ConnectionRefusedError(111, "refused")}), "connection refused"),
        (wrapped(TimeoutError("timed out")), "timed out"),
        (TimeoutError("timed out"), "timed out"),
        (requests.exceptions.ConnectTimeout("x"), "timed out"),
        (wrapped(socket.gaierror(-2, "Name or service not known")), "unknown host name"),
        (wrapped(FileNotFoundError(2, "No such file or directory")), "no such socket"),
        (wrapped(PermissionError(13, "Permission denied")), "permission denied"),
        (
            wrapped(certificate_error("unable to get local issuer certificate")),
            "TLS verification failed: unable to get local issuer certificate",
        ),
        (
            wrapped(certificate_error("IP address mismatch, certificate is not valid for '127.0.0.2'.")),
            "TLS verification failed: IP address mismatch, certificate is not valid for '127.0.0.2'.",
        ),
        (
            wrapped(ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")),
            "TLS handshake refused: the engine did not accept our client certificate",
        ),
        (
            wrapped(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")),
            "TLS handshake failed: the engine does not speak TLS on this port",
        ),
        (paramiko.AuthenticationException("Authentication failed."), "SSH authentication failed: no key from the agent"),
        (paramiko.SSHException("No authentication methods available"), "SSH authentication failed: no key from the agent"),
        (
            paramiko.SSHException("Server '[127.0.0.1]:2222' not found in known_hosts"),
            "unknown host key: [127.0.0.1]:2222 is not in known_hosts",
        ),
        (
            wrapped(http.client.RemoteDisconnected("Remote end closed connection without response")),
            "the engine closed the connection without answering (over SSH: is `docker` on the host's PATH",
        ),
        (RuntimeError("first line\nsomething odd"), "something odd"),
    ],
)
def test_each_cause_in_words(error: BaseException, said: str) -> None:
    assert explain(error).startswith(said)


def test_a_changed_host_key_is_named_with_the_key_it_presented() -> None:
    presented, known = ed25519(), ed25519()
    said = explain(paramiko.BadHostKeyException("vps.example.com", presented, known))
    assert said.startswith(f"host key mismatch: vps.example.com presented a ssh-ed25519 key {presented.fingerprint}")
    assert known.fingerprint not in said


def test_an_engine_answer_is_its_explanation() -> None:
    error = docker.errors.APIError("500 Server Error", explanation="Client sent an HTTP request to an HTTPS server.")
    assert explain(error) == "Client sent an HTTP request to an HTTPS server."


def test_the_message_names_the_host_and_where() -> None:
    error = wrapped(ConnectionRefusedError(111, "Connection refused"))
    said = unreachable("vps", "ssh://root@vps.example.com", error)
    assert said == "host vps: cannot reach the Docker engine at ssh://root@vps.example.com: connection refused"


def act(address: str, kind: str, host: str | None, blocked: Blocked | None = None) -> Action:
    return Action(address=address, type=address.partition(".")[0], action=kind, observed_digest="d", host=host, blocked=blocked)


def make_plan(actions: list[Action]) -> Plan:
    return Plan(tool_version="0.1.0", state=StateInfo(dir="d", digest="s"), summary=Summary.of(actions), actions=actions)


def test_the_plan_groups_actions_by_host() -> None:
    actions = [
        act("container.b", "create", "vps"),
        act("container.a", "update", "local"),
        act("s3_bucket.x", "create", None),
        act("container.c", "noop", "tls", Blocked(reason="host tls: cannot reach the Docker engine at …: timed out", remedy="r")),
        act("container.d", "noop", "local"),
    ]
    assert [(host, [a.address for a in group]) for host, group in by_host(actions)] == [
        (None, ["s3_bucket.x"]),
        ("local", ["container.a", "container.d"]),
        ("tls", ["container.c"]),
        ("vps", ["container.b"]),
    ]
    text = render_plan(make_plan(actions)).plain
    assert text.index("+ s3_bucket.x") < text.index("On host local:") < text.index("~ container.a")
    assert text.index("~ container.a") < text.index("On host tls:") < text.index("! container.c") < text.index("On host vps:")
    assert "  # container.c cannot be planned now" in text
    assert "! blocked: host tls: cannot reach the Docker engine at …: timed out" in text
    assert "container.d" not in text
