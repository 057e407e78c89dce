"""A bind mount from the repository on a host reached over SSH (a real sshd on 127.0.0.1): the
path exists only where reconcile runs, and the engine there would mount an empty directory, so
plan fails with an error finding that names the file and says to declare it under configs:."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.sshd import ALIAS, Sshd

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def test_a_repository_bind_source_on_an_ssh_host_is_an_error_finding(tmp_path: Path, sshd: Sshd) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.conf").write_text("workers = 2\n")
    state = tmp_path / "desired_state"
    state.mkdir()
    name = f"s{uuid.uuid4().hex[:6]}-app"
    (state / "state.yaml").write_text(
        textwrap.dedent(f"""\
        hosts:
          vps:
            docker: ssh://{ALIAS}
            identity_file: {sshd.client_key}
        containers:
          {name}:
            host: vps
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            healthcheck: {{test: [CMD-SHELL, "test -d /tmp"], interval: 1s, timeout: 1s, retries: 2}}
            volumes:
              - ../conf/app.conf:/etc/app/app.conf:ro
              - /etc/hostname:/etc/app/hostname:ro
        """)
    )
    plan = run_reconcile("plan", "desired_state", "--format", "json", cwd=tmp_path, env=sshd.env, timeout=120)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    findings = [f for f in json.loads(plan.stdout)["findings"] if f["code"] == "bind-from-repository-on-remote-host"]
    assert len(findings) == 1, plan.stdout
    assert findings[0]["severity"] == "error"
    assert findings[0]["address"] == f"container.{name}"
    assert "conf/app.conf" in findings[0]["message"] and "hostname" not in findings[0]["message"]
    assert "configs:" in findings[0]["remedy"]
