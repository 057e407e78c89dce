"""SSH connections to Docker hosts (``ssh://user@host[:port]``), made with paramiko as the docker
SDK's own SSH transport does, but with what the SDK leaves out: the key of ``identity_file:``,
timeouts, every known_hosts file ``~/.ssh/config`` names, and unknown or changed host keys refused
(``RejectPolicy``, never added). The Docker API then runs over ``docker system dial-stdio`` on the
host, one SSH channel per HTTP connection, all on this one SSH connection. Nothing is decided here.

Imported only when an ssh:// host connects (startup.defer_paramiko): paramiko's errors leave this
module as `SshConnectionError`, a requests ConnectionError with paramiko's error as its cause, so
callers catch them with clients.docker.CONNECTION_ERRORS, which names no paramiko type.
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import paramiko
import requests.exceptions
from docker.transport.sshconn import SSHHTTPAdapter

from reconciler.clients.transport import within_deadline

CONNECT_SECONDS = 15.0
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


class SshConnectionError(requests.exceptions.ConnectionError):
    """paramiko's error (the cause) on the way to an ssh:// host, as the connection error it is."""


@contextmanager
def _as_connection_error() -> Iterator[None]:
    try:
        yield
    except paramiko.SSHException as error:
        raise SshConnectionError(error) from error


@dataclass(frozen=True)
class SshTarget:
    """Where and how to connect: the URL's parts, completed from ``~/.ssh/config`` as ssh would
    (the URL wins over the config, the config over the defaults)."""

    alias: str  # the host as written in the URL (what ~/.ssh/config's Host lines match)
    hostname: str
    port: int
    username: str | None
    key_files: tuple[str, ...] = ()
    known_hosts: tuple[str, ...] = ()
    proxy_command: str | None = None
    timeout: float = CONNECT_SECONDS

    @property
    def shown(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"ssh://{user}{self.hostname}:{self.port}"


def _config_lookup(alias: str) -> dict[str, Any]:
    path = Path("~/.ssh/config").expanduser()
    if not path.is_file():
        return {}
    config = paramiko.SSHConfig.from_path(str(path))
    found: dict[str, Any] = dict(config.lookup(alias))
    return found


def target_of(url: str, identity_file: str | None = None, base_dir: Path | None = None) -> SshTarget:
    """``ssh://user@host:port`` and ``~/.ssh/config`` → the connection's parameters. An
    ``identity_file`` relative path is read from ``base_dir`` (the state directory)."""
    parts = urlsplit(url)
    alias = parts.hostname or ""
    if not alias:
        raise ValueError(f"{url}: no host name")
    with _as_connection_error():  # a ~/.ssh/config paramiko cannot parse
        config = _config_lookup(alias)
    keys: list[str] = []
    if identity_file:
        key = Path(identity_file).expanduser()
        if not key.is_absolute() and base_dir is not None:
            key = base_dir / key
        keys.append(str(key))
    else:
        keys += [str(Path(k).expanduser()) for k in config.get("identityfile", []) if Path(k).expanduser().is_file()]
    known = [str(Path("~/.ssh/known_hosts").expanduser()), SYSTEM_KNOWN_HOSTS]
    for entry in config.get("userknownhostsfile", "").split() + config.get("globalknownhostsfile", "").split():
        known.append(str(Path(entry).expanduser()))
    timeout = float(config["connecttimeout"]) if str(config.get("connecttimeout", "")).isdigit() else CONNECT_SECONDS
    return SshTarget(
        alias=alias,
        hostname=config.get("hostname", alias),
        port=parts.port or int(config.get("port", 22)),
        username=parts.username or config.get("user"),
        key_files=tuple(keys),
        known_hosts=tuple(dict.fromkeys(known)),
        proxy_command=config.get("proxycommand"),
        timeout=timeout,
    )


def open_ssh(target: SshTarget) -> paramiko.SSHClient:
    """A connected client; raises paramiko's and the socket's errors as they come (see
    clients.docker.explain)."""
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # its tracebacks are not for users
    client = paramiko.SSHClient()
    for path in target.known_hosts:
        if os.path.isfile(path):
            client.load_system_host_keys(path)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            key_filename=cast(Any, list(target.key_files) or None),  # paramiko takes a list too; its stubs say str
            allow_agent=True,
            look_for_keys=not target.key_files,
            timeout=target.timeout,
            banner_timeout=target.timeout,
            auth_timeout=target.timeout,
            channel_timeout=target.timeout,
            sock=paramiko.ProxyCommand(target.proxy_command) if target.proxy_command else None,
        )
    except BaseException:
        client.close()
        raise
    return client


class SshAdapter(SSHHTTPAdapter):
    """The SDK's SSH adapter on a connection of ours (made by `open_ssh`, remade the same way if
    it drops)."""

    def __init__(self, target: SshTarget, timeout: int, max_pool_size: int) -> None:
        self.target = target
        self.reconnect_lock = threading.Lock()
        super().__init__(f"ssh://{target.alias}", timeout=timeout, max_pool_size=max_pool_size, shell_out=True)
        with _as_connection_error():
            self.ssh_client = open_ssh(target)

    def _connect(self) -> None:
        with self.reconnect_lock:
            transport = self.ssh_client.get_transport() if self.ssh_client else None
            if transport is None or not transport.is_active():
                if self.ssh_client is not None:
                    self.ssh_client.close()
                self.ssh_client = open_ssh(self.target)

    def get_connection(self, url: Any, proxies: Any = None) -> Any:
        with _as_connection_error():
            transport = self.ssh_client.get_transport() if self.ssh_client else None
            if transport is None or not transport.is_active():
                self._connect()
                cast(Any, self.pools).clear()  # pools on the dropped connection
            return super().get_connection(url, proxies)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """As requests sends, with paramiko's errors (a channel refused, the session gone) as
        SshConnectionError: urllib3 wraps only socket and HTTP errors."""
        with _as_connection_error():
            return super().send(request, *args, **kwargs)


@dataclass(frozen=True)
class Ran:
    status: int
    stdout: str
    stderr: str


def run_command(client: paramiko.SSHClient, argv: list[str], timeout: float = 30.0) -> Ran:
    """Run one command on the host (quoted for its shell), over the open connection; ``timeout`` is
    a wall-clock deadline on the whole of it (DeadlineExceeded past it)."""

    def run() -> Ran:
        _stdin, stdout, stderr = client.exec_command(shlex.join(argv), timeout=timeout)
        out = stdout.read().decode(errors="replace")
        said = stderr.read().decode(errors="replace")
        return Ran(stdout.channel.recv_exit_status(), out, said)

    return within_deadline(timeout, run)
