"""`reconcile import` of an unmanaged container that bind-mounts single files from its host (issue
27, item 4): each file becomes a config (under /run/secrets/: a secret) with a `file:` where the
user is to put it — its content never printed; a bind-mounted directory stays a volume. Put in
place as the header says, the declaration adopts the container as it runs, the next apply replaces
it once to deliver the files through the Engine API, and the plan after that is clean."""

from __future__ import annotations

import contextlib
import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from ruamel.yaml import YAML

from tests.support.cli import Reconcile
from tests.support.docker_engine import TEST_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("cleanup_containers")]
CONTENT = "listen = 8080  # import-canary-config\n"
SECRET = "import-canary-secret-5e1d"


@pytest.fixture
def unmanaged(tmp_path: Path, docker_client: docker.DockerClient, prefix: str) -> Iterator[str]:
    host = tmp_path / "on-the-host"
    (host / "dir").mkdir(parents=True)
    (host / "app.conf").write_text(CONTENT)
    (host / "db_password").write_text(SECRET)
    name = f"{prefix}-web"
    container = docker_client.containers.run(
        TEST_IMAGE, ["sleep", "300"], name=name, detach=True, network_mode="none", init=True, labels={"reconciler.test": "1"},
        volumes=[f"{host}/app.conf:/etc/app/app.conf:ro", f"{host}/db_password:/run/secrets/db_password:ro", f"{host}/dir:/data"],
    )  # fmt: skip
    yield name
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)


def copy_out(client: docker.DockerClient, name: str, command: str, root: Path) -> None:
    """What the header's `docker cp NAME:TARGET PLACE` does, through the SDK."""
    *_, source, place = command.split()
    chunks, _ = client.api.get_archive(name, source.partition(":")[2])
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = next(m for m in tar.getmembers() if m.isfile())
        handle = tar.extractfile(member)
        assert handle is not None
        (root / place).parent.mkdir(parents=True, exist_ok=True)
        (root / place).write_bytes(handle.read())


def test_import_declares_bind_mounted_files_as_configs_and_secrets_then_adopts_and_delivers_them(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient, unmanaged: str
) -> None:
    (tmp_path / ".git").mkdir()
    imported = reconcile("import", "no_state_yet")  # nothing declared yet: the implicit local host
    assert imported.returncode == 0, imported.stderr
    assert CONTENT.strip() not in imported.stdout + imported.stderr and SECRET not in imported.stdout + imported.stderr
    document: Any = YAML().load(imported.stdout)
    spec = document["containers"][unmanaged]
    assert spec["configs"] == [{"source": f"{unmanaged}_app.conf", "target": "/etc/app/app.conf"}]
    assert spec["secrets"] == [{"source": f"{unmanaged}_db_password", "target": "/run/secrets/db_password"}]
    assert [v.split(":")[1] for v in spec["volumes"]] == ["/data"]  # a directory stays a bind
    assert document["configs"][f"{unmanaged}_app.conf"] == {"file": f"../configs/{unmanaged}/app.conf"}
    assert document["secrets"][f"{unmanaged}_db_password"] == {"file": f"../secrets/{unmanaged}/db_password"}
    for name in [n for n in document["containers"] if n != unmanaged]:
        del document["containers"][name]  # the engine is shared: only this test's container
    for command in re.findall(r"^#\s+(docker cp \S+ \S+)$", imported.stdout, flags=re.MULTILINE):
        copy_out(docker_client, unmanaged, command, tmp_path)
    out = io.StringIO()
    YAML().dump(document, out)
    (tmp_path / "desired_state" / "imported.yaml").write_text(out.getvalue())
    first_id = docker_client.api.inspect_container(unmanaged)["Id"]

    plan = reconcile("plan", "desired_state", "--target", f"container.{unmanaged}")
    assert '~ managed: "no" → "adopted"' in plan.stdout, plan.stdout + plan.stderr
    assert reconcile("apply", "desired_state", "--auto-approve", "--target", f"container.{unmanaged}").returncode == 0
    assert docker_client.api.inspect_container(unmanaged)["Id"] == first_id  # adopted as it runs
    plan = reconcile("plan", "desired_state", "--target", f"container.{unmanaged}")
    assert "1 to replace" in plan.stdout and f"config {unmanaged}_app.conf at /etc/app/app.conf" in plan.stdout, plan.stdout
    applied = reconcile("apply", "desired_state", "--auto-approve", "--target", f"container.{unmanaged}")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    record = docker_client.api.inspect_container(unmanaged)
    assert record["Id"] != first_id and [m["Destination"] for m in record["Mounts"]] == ["/data"]
    read = docker_client.api.exec_create(unmanaged, ["cat", "/etc/app/app.conf", "/run/secrets/db_password"])["Id"]
    assert docker_client.api.exec_start(read).decode() == CONTENT + SECRET
    assert reconcile("plan", "desired_state", "--target", f"container.{unmanaged}").stdout.startswith("No changes.")
