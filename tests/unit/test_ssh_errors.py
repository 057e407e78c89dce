"""paramiko's errors leave clients/ssh.py as connection errors (clients.docker.CONNECTION_ERRORS names
no paramiko type, so that a run without ssh:// hosts never imports paramiko), and still read as
their cause. No network: the errors come before any connection is made, or are built here."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from reconciler.clients.docker import CONNECTION_ERRORS, DockerUnavailable, connect, explain
from reconciler.clients.ssh import SshConnectionError, target_of
from reconciler.model.spec import Host


@pytest.fixture
def broken_ssh_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host vps\n  HostName\n")
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.mark.usefixtures("broken_ssh_config")
def test_an_ssh_config_paramiko_cannot_parse_blocks_the_host_in_its_words() -> None:
    with pytest.raises(CONNECTION_ERRORS) as raised:
        target_of("ssh://vps")
    assert isinstance(raised.value.__cause__, paramiko.SSHException)
    with pytest.raises(DockerUnavailable) as refused:
        connect("vps", Host(docker="ssh://vps"), 2)
    assert str(refused.value) == "host vps: cannot reach the Docker engine at ssh://vps: Unparsable line HostName"


def test_a_wrapped_paramiko_error_is_explained_as_itself() -> None:
    cause = paramiko.SSHException("Server '[127.0.0.1]:2222' not found in known_hosts")
    try:
        raise SshConnectionError(cause) from cause
    except SshConnectionError as error:
        wrapped = error
    assert explain(wrapped) == explain(cause)
    assert explain(wrapped).startswith("unknown host key: [127.0.0.1]:2222 is not in known_hosts")
