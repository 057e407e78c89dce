"""Disk budgets on an ssh:// host read the filesystem with `df -P -k` over the host's own SSH
connection (here: a real sshd on this machine, so the numbers can be checked against statvfs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.clients.disk import Unmeasurable, df_of, filesystem_reader
from reconciler.clients.docker import connect, ssh_of
from reconciler.model.spec import Host
from tests.support.sshd import ALIAS, Sshd

DF = """\
Filesystem     1024-blocks      Used Available Capacity Mounted on
/dev/sda1        153600000 139776000  13824000      91% /
"""


def test_df_output_is_read() -> None:
    filesystem = df_of(DF, "/")
    assert (filesystem.used, filesystem.available, filesystem.device) == (139776000 * 1024, 13824000 * 1024, None)
    assert round(100 * filesystem.used / filesystem.usable) == 91
    with pytest.raises(Unmeasurable, match="unexpected df output"):
        df_of("df: /nope: No such file or directory\n", "/nope")


@pytest.mark.docker
def test_the_filesystem_is_read_over_the_same_ssh_connection(sshd: Sshd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(sshd.home))
    url = f"ssh://{ALIAS}"
    client = connect("vps", Host(docker=url, identity_file=str(sshd.client_key)), 2)
    try:
        ssh = ssh_of(client)
        assert ssh is not None
        measured = filesystem_reader(url, url, ssh)(str(tmp_path))
        local = os.statvfs(tmp_path)
        assert abs(measured.available - local.f_bavail * local.f_frsize) < 64 * 2**20  # others write meanwhile
        assert measured.usable > 0
        with pytest.raises(Unmeasurable, match=f"cannot read the filesystem of /no/such/path on {url}: .*No such file"):
            filesystem_reader(url, url, ssh)("/no/such/path")
    finally:
        client.close()
