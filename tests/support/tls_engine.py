"""A second Docker engine for the tcp:// + TLS tests: scripts/docker-engine with
RECONCILER_ENGINE_NAME=tls (its own socket, data root, exec root and pidfile, so it never touches
the shared engine), listening also on 127.0.0.1:<free port> with --tlsverify and certificates made
here with `cryptography`: a CA, a server certificate for the IP 127.0.0.1, a client certificate.

The certificates and the port are new each session, so an engine left from an earlier session is
stopped first (by the pid in its pidfile) and the one started here is stopped at the end. Its data
root stays: the test image, copied in once (`docker save` → `load`), is there the next time.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.docker_engine import ENGINE_SCRIPT, TEST_IMAGE
from tests.support.sshd import free_port

NAME = "tls"
SOCKET = f"unix:///run/reconciler-{NAME}-docker.sock"
PIDFILE = Path(f"/run/reconciler-{NAME}-docker.pid")


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, signer: ec.EllipticCurvePrivateKey, *, ca: bool
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )


def make_certificates(directory: Path, ca_name: str = "reconcile test CA") -> Certificates:
    """A CA, a server certificate for 127.0.0.1 (an IP SAN) and a client certificate, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_builder = _certificate(ca_name, ca_key, None, ca_key, ca=True).add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
    ca_cert = ca_builder.sign(ca_key, hashes.SHA256())
    paths = Certificates(
        directory / "ca.pem",
        directory / "server-cert.pem",
        directory / "server-key.pem",
        directory / "cert.pem",
        directory / "key.pem",
    )
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for cert_path, key_path, subject, usage in (
        (paths.server_cert, paths.server_key, "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH),
        (paths.client_cert, paths.client_key, "reconcile-client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _certificate(subject, key, ca_cert.subject, ca_key, ca=False).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        cert_path.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_key_pem(key))
        key_path.chmod(0o600)
    return paths


@dataclass(frozen=True)
class TlsEngine:
    url: str  # tcp://127.0.0.1:PORT
    port: int
    certificates: Certificates
    socket: str  # the same engine's unix socket, for setting it up without TLS


def _stop_ours() -> None:
    """Stop the tls engine an earlier session (or this one) started, by its pidfile's pid."""
    if not PIDFILE.is_file():
        return
    try:
        pid = int(PIDFILE.read_text().strip())
    except ValueError:
        return
    with contextlib.suppress(ProcessLookupError):
        if Path(f"/proc/{pid}/comm").read_text().strip() != "dockerd":
            return
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] if Path(f"/proc/{pid}/stat").exists() else "Z"
        if state == "Z":
            break
        time.sleep(0.1)


def _load_test_image(engine_socket: str, shared: docker.DockerClient) -> None:
    client = docker.DockerClient(base_url=engine_socket, timeout=120)
    try:
        try:
            client.images.get(TEST_IMAGE)
        except docker.errors.ImageNotFound:
            client.images.load(b"".join(shared.images.get(TEST_IMAGE).save(named=True)))
    finally:
        client.close()


@contextlib.contextmanager
def running_tls_engine(directory: Path, shared: docker.DockerClient) -> Iterator[TlsEngine]:
    certificates = make_certificates(directory / "certs")
    port = free_port()
    _stop_ours()
    extra = (
        f"-H tcp://127.0.0.1:{port} --tlsverify --tlscacert {certificates.ca} "
        f"--tlscert {certificates.server_cert} --tlskey {certificates.server_key}"
    )
    env = {**os.environ, "RECONCILER_ENGINE_NAME": NAME, "RECONCILER_ENGINE_EXTRA_ARGS": extra}
    env.pop("DOCKER_HOST", None)
    result = subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, text=True, env=env, timeout=300, check=False)
    if result.returncode != 0 or not result.stdout.strip().endswith(SOCKET):
        raise RuntimeError(f"scripts/docker-engine (tls) failed (exit {result.returncode}):\n{result.stderr}{result.stdout}")
    try:
        _load_test_image(SOCKET, shared)
        yield TlsEngine(f"tcp://127.0.0.1:{port}", port, certificates, SOCKET)
    finally:
        _stop_ours()
