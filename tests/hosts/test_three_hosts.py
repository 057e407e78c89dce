"""One state, three Docker hosts, as a user runs `reconcile`: the local engine (unix://), the same
engine reached over SSH (a real sshd on 127.0.0.1, known_hosts checked, the key from identity_file,
the host named by an alias in ~/.ssh/config), and a second engine over tcp:// with TLS (CA from a
path, client certificate and key as PEM text from ${VAR})."""

from __future__ import annotations

import json
import subprocess
import textwrap
import uuid
from pathlib import Path

import docker
import pytest

from reconciler.clients.docker import DockerUnavailable, connect
from reconciler.model.spec import Host
from tests.support.cli import run_reconcile
from tests.support.docker_engine import TEST_IMAGE
from tests.support.sshd import ALIAS, Sshd, free_port, keypair
from tests.support.tls_engine import TlsEngine

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


def container(name: str, host: str) -> str:
    return textwrap.dedent(f"""\
          {name}:
            host: {host}
            image: {TEST_IMAGE}
            command: ["sleep", "300"]
            network_mode: none
            init: true
            stop_grace_period: 1s
            healthcheck: {{test: [CMD-SHELL, "test -d /tmp"], interval: 1s, timeout: 1s, retries: 2}}
        """)


def write_state(directory: Path, prefix: str, sshd: Sshd, tls_url: str, tls: TlsEngine, docker_host: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "hosts.yaml").write_text(
        textwrap.dedent(f"""\
            settings: {{secrets: [TLS_CERT, TLS_KEY]}}
            hosts:
              local:
                docker: {docker_host}
              vps:
                docker: ssh://{ALIAS}
                identity_file: {sshd.client_key}
              tls:
                docker: {tls_url}
                tls:
                  ca: {tls.certificates.ca}
                  cert: ${{TLS_CERT}}
                  key: ${{TLS_KEY}}
            """)
    )
    (directory / "containers.yaml").write_text(
        "containers:\n"
        + textwrap.indent(
            container(f"{prefix}-a", "local") + container(f"{prefix}-b", "vps") + container(f"{prefix}-c", "tls"), "  "
        )
    )


@pytest.fixture
def prefix() -> str:
    return f"h{uuid.uuid4().hex[:6]}"


def reconcile(
    tmp_path: Path, sshd: Sshd, tls: TlsEngine, *args: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **sshd.env,
        "TLS_CERT": tls.certificates.client_cert.read_text(),
        "TLS_KEY": tls.certificates.client_key.read_text(),
    }
    if home is not None:
        env["HOME"] = str(home)
    return run_reconcile(*args, cwd=tmp_path, env=env, timeout=120)


def names(client: docker.DockerClient, prefix: str) -> dict[str, str]:
    """This test's managed containers (the shared engine may hold other tests'): name → the host
    entry that made it."""
    listed = client.containers.list(all=True, filters={"label": "reconciler.managed=true"})
    return {str(c.name): c.labels.get("reconciler.host", "") for c in listed if str(c.name).startswith(prefix)}


def test_plan_apply_noop_on_three_hosts(
    tmp_path: Path, prefix: str, sshd: Sshd, tls_engine: TlsEngine, tls_client: docker.DockerClient,
    docker_client: docker.DockerClient, docker_host: str,
) -> None:  # fmt: skip
    state = tmp_path / "desired_state"
    write_state(state, prefix, sshd, tls_engine.url, tls_engine, docker_host)

    planned = reconcile(tmp_path, sshd, tls_engine, "plan", str(state), "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr + planned.stdout
    text = planned.stdout
    assert text.index("On host local:") < text.index(f"+ container.{prefix}-a") < text.index("On host tls:")
    assert text.index("On host tls:") < text.index(f"+ container.{prefix}-c") < text.index("On host vps:")
    assert text.index("On host vps:") < text.index(f"+ container.{prefix}-b")
    assert "Plan: 3 to add, 0 to change, 0 to replace, " in text and " 0 blocked." in text

    applied = reconcile(tmp_path, sshd, tls_engine, "apply", str(state), "--auto-approve")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert names(docker_client, prefix) == {f"{prefix}-a": "local", f"{prefix}-b": "vps"}  # one engine, two host entries
    assert names(tls_client, prefix) == {f"{prefix}-c": "tls"}

    again = reconcile(tmp_path, sshd, tls_engine, "plan", str(state), "--detailed-exitcode", "--format", "json")
    actions = json.loads(again.stdout)["actions"]
    ours = {
        a["address"]: (a["action"], a["host"], a["blocked"]) for a in actions if a["address"].startswith(f"container.{prefix}")
    }
    on_engines = {**names(docker_client, prefix), **names(tls_client, prefix)}  # if this fails: were they removed?
    assert ours == {
        f"container.{prefix}-a": ("noop", "local", None),
        f"container.{prefix}-b": ("noop", "vps", None),
        f"container.{prefix}-c": ("noop", "tls", None),
    }, f"on the engines now: {on_engines}"
    if len(actions) == len(ours):  # the shared engine holds no other test's containers just now
        assert again.returncode == 0, again.stderr + again.stdout
    key_text = tls_engine.certificates.client_key.read_text().splitlines()[1]
    for result in (planned, applied, again):
        assert key_text not in result.stdout + result.stderr


def test_a_host_that_is_down_blocks_only_its_own_resources(
    tmp_path: Path, prefix: str, sshd: Sshd, tls_engine: TlsEngine, docker_client: docker.DockerClient, docker_host: str
) -> None:
    state = tmp_path / "desired_state"
    down = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    write_state(state, prefix, sshd, down, tls_engine, docker_host)
    (state / "disk.yaml").write_text("disk_budgets:\n  tls-root: {host: tls, path: /, max_used_percent: 99}\n")

    planned = reconcile(tmp_path, sshd, tls_engine, "plan", str(state), "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr + planned.stdout
    assert f"! container.{prefix}-c" in planned.stdout
    assert "! disk_budget.tls-root" in planned.stdout  # the host's disk budget too, and nothing else
    assert planned.stdout.count(f"blocked: host tls: cannot reach the Docker engine at {down}: connection refused") == 2
    assert "Plan: 2 to add, " in planned.stdout and " 2 blocked." in planned.stdout

    applied = reconcile(tmp_path, sshd, tls_engine, "apply", str(state), "--auto-approve")
    assert applied.returncode == 1, applied.stderr + applied.stdout
    assert f"blocked     container.{prefix}-c: blocked: host tls: cannot reach" in applied.stdout
    assert f"done        container.{prefix}-a" in applied.stdout
    assert f"done        container.{prefix}-b" in applied.stdout, applied.stdout
    assert names(docker_client, prefix) == {f"{prefix}-a": "local", f"{prefix}-b": "vps"}


def test_a_wrong_host_key_is_refused_naming_the_host(
    tmp_path: Path, prefix: str, sshd: Sshd, tls_engine: TlsEngine, docker_client: docker.DockerClient, docker_host: str
) -> None:
    state = tmp_path / "desired_state"
    write_state(state, prefix, sshd, tls_engine.url, tls_engine, docker_host)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text((sshd.home / ".ssh" / "config").read_text())
    impostor = " ".join(keypair(tmp_path / "impostor", "x").split()[:2])
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {impostor}\n")

    planned = reconcile(tmp_path, sshd, tls_engine, "plan", str(state), "--detailed-exitcode", home=home)
    assert planned.returncode == 2, planned.stderr + planned.stdout
    out = " ".join(planned.stdout.split())
    assert f"! container.{prefix}-b" in out
    assert f"blocked: host vps: cannot reach the Docker engine at ssh://{ALIAS}: host key mismatch: 127.0.0.1 presented" in out
    assert f"+ container.{prefix}-a" in out and f"+ container.{prefix}-c" in out

    assert names(docker_client, prefix) == {}


def test_an_unknown_host_key_is_refused_and_never_added(tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text((sshd.home / ".ssh" / "config").read_text())
    (home / ".ssh" / "known_hosts").write_text("")
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(DockerUnavailable) as refused:
        connect("vps", Host(docker=f"ssh://{ALIAS}", identity_file=str(sshd.client_key)), 2)
    assert str(refused.value).startswith(
        f"host vps: cannot reach the Docker engine at ssh://{ALIAS}: unknown host key: [127.0.0.1]:{sshd.port} is not in known_hosts"
    )
    assert (home / ".ssh" / "known_hosts").read_text() == ""


def test_without_a_key_the_login_is_refused(tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(sshd.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    other = tmp_path / "other_key"
    keypair(other, "not-authorized")
    with pytest.raises(DockerUnavailable) as refused:
        connect("vps", Host(docker=f"ssh://root@127.0.0.1:{sshd.port}", identity_file=str(other)), 2)
    assert str(refused.value).endswith("SSH authentication failed: no key from the agent, identity_file or ~/.ssh was accepted")
