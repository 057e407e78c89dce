"""A real OpenSSH server for the ssh:// host tests: Debian's sshd on 127.0.0.1, a free port, its own
generated host key, one generated client key (the only way in: no password, no PAM), and sessions
whose DOCKER_HOST is the test engine, so `docker system dial-stdio` (what the docker SDK runs on an
ssh:// host) reaches it. The client side gets a home of its own: ~/.ssh/known_hosts with the
server's key and ~/.ssh/config naming the host by an alias.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

SSHD = "/usr/sbin/sshd"
ALIAS = "vps-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def keypair(path: Path, comment: str) -> str:
    """An ed25519 private key at ``path`` (0600, OpenSSH format); returns its public line."""
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{public} {comment}"


@dataclass(frozen=True)
class Sshd:
    port: int
    home: Path  # the client's HOME: .ssh/config and .ssh/known_hosts
    client_key: Path
    host_public: str  # "ssh-ed25519 AAAA…"
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_public}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a client that should find this server by its alias."""
        return {"HOME": str(self.home), "SSH_AUTH_SOCK": ""}


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port}:\n{log.read_text()}")


@contextlib.contextmanager
def running_sshd(directory: Path, docker_host: str) -> Iterator[Sshd]:
    """sshd as root on 127.0.0.1:<free port>, stopped (by its pid) on exit."""
    if not os.path.exists(SSHD):
        raise RuntimeError("sshd is missing: scripts/test installs it (apt-get install openssh-server)")
    server = directory / "server"
    home = directory / "home"
    (home / ".ssh").mkdir(parents=True)
    server.mkdir()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    host_public = " ".join(keypair(server / "host_ed25519", "test-host").split()[:2])
    client_key = home / "client_ed25519"
    (server / "authorized_keys").write_text(keypair(client_key, "reconcile-test") + "\n")
    port = free_port()
    (server / "sshd_config").write_text(
        f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {server / "host_ed25519"}
PidFile {server / "sshd.pid"}
AuthorizedKeysFile {server / "authorized_keys"}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers root
StrictModes no
X11Forwarding no
AllowTcpForwarding no
SetEnv DOCKER_HOST={docker_host}
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""
    )
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public}\n")
    (home / ".ssh" / "config").write_text(f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n")
    log = server / "sshd.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(server / "sshd_config")], stdout=sink, stderr=sink, stdin=subprocess.DEVNULL
        )
    try:
        _wait_listening(port, process, log)
        yield Sshd(port, home, client_key, host_public, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(server, ignore_errors=True)


def repository_with_ssh_host(root: Path, sshd: Sshd, resources: str) -> None:
    """A git repository at ``root`` holding conf/app.conf ("workers = 2") and desired_state/state.yaml:
    host vps reached over ``sshd``, then ``resources`` (YAML, dedented)."""
    (root / ".git").mkdir()
    (root / "conf").mkdir()
    (root / "conf" / "app.conf").write_text("workers = 2\n")
    (root / "desired_state").mkdir()
    hosts = f"hosts:\n  vps:\n    docker: ssh://{ALIAS}\n    identity_file: {sshd.client_key}\n"
    (root / "desired_state" / "state.yaml").write_text(hosts + textwrap.dedent(resources))
