"""A disk budget reaches its host with the host's files (tls, identity_file) read from the state
directory, as the container kind does: whichever kind connects first makes the one client of a
host, so the disk kind must not connect without the state directory. No engine is needed: the host
is a loopback port where nothing listens, so the connection is refused once the files are found."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.kinds.base import RunContext
from reconciler.kinds.disk_budget.kind import DiskBudgetKind
from reconciler.model.spec import State


def test_a_disk_budget_finds_the_host_s_tls_files_in_the_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir = tmp_path / "desired_state"
    (state_dir / "certs").mkdir(parents=True)
    for part in ("ca", "cert", "key"):
        (state_dir / "certs" / f"{part}.pem").write_text("not a certificate\n")
    monkeypatch.chdir(tmp_path)  # relative paths would be read from here without the state directory
    state = State.model_validate(
        {
            "hosts": {
                "vps": {
                    "docker": "tcp://127.0.0.1:1",
                    "tls": {"ca": "certs/ca.pem", "cert": "certs/cert.pem", "key": "certs/key.pem"},
                }
            },
            "disk_budgets": {"root": {"host": "vps", "path": "/", "max_used_percent": 80}},
        }
    )
    context = RunContext(state=state, state_dir=state_dir, now=datetime.now(UTC))
    kind = DiskBudgetKind(context)
    try:
        assert kind.observe(state.disk_budgets) == {}
    finally:
        context.close()

    assert "no such file" not in kind.unreachable["vps"]
    assert kind.unreachable["vps"].startswith("host vps: cannot reach the Docker engine at tcp://127.0.0.1:1")
