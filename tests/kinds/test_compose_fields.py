"""Compose's service fields on the real engine: what `docker inspect` shows for each field after an
apply, a second plan that is clean (the engine's and the image's defaults are never drift), and a
multi-service compose file from a well-known public project pasted under `containers:`."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.support.cli import Reconcile
from tests.support.compose_oracle import build_stand_in

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("cleanup_containers")]


FIELDS = """\
x-defaults: &defaults
  init: true
  restart: unless-stopped
networks:
  backend:
    labels: {team: ops}
  quiet:
    internal: true
containers:
  fields:
    <<: *defaults
    image: reconciler-test/busybox:1
    container_name: fields-engine-name
    command: ["sleep", "3600"]
    networks:
      backend: {aliases: [api, api-v1]}
      quiet:
    hostname: box
    domainname: example.test
    working_dir: /tmp
    expose: [8080, "53/udp"]
    extra_hosts: ["db.internal:10.0.0.5", "cache.internal=10.0.0.6"]
    dns: [10.0.0.53]
    dns_opt: [ndots:2]
    dns_search: example.test
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    cap_add: [NET_ADMIN]
    cap_drop: [CAP_MKNOD]
    read_only: true
    tmpfs: ["/run:size=1m"]
    volumes:
      - {type: tmpfs, target: /scratch, tmpfs: {size: 2m}}
      - {type: bind, source: ./data, target: /data, read_only: true}
      - {type: volume, source: i19b-compose-fields, target: /vol}
      - ./conf:/conf:ro,cached
    shm_size: 32mb
    sysctls: [net.core.somaxconn=1024]
    devices: ["/dev/zero:/dev/myzero:r"]
    security_opt: ["no-new-privileges:true"]
    group_add: ["100"]
    tty: true
    stdin_open: true
    pull_policy: never
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 64m, pids: 64}
        reservations: {memory: 32m}
    labels: [team=ops, bare]
    environment: {A: "1", NOT_SET_ANYWHERE: }
    env_file: [app.env, {path: missing.env, required: false}]
    x-note: ignored, as compose ignores it
  later:
    <<: *defaults
    image: reconciler-test/busybox:1
    command: ["sleep", "3600"]
    network_mode: host
    ports: ["9999:9999"]
    depends_on:
      fields: {condition: service_started, restart: true}
      gone: {condition: service_healthy, required: false}
    profiles: [debug]
  dev_only:
    image: reconciler-test/busybox:1
    profiles: [dev]
settings:
  profiles: [debug]
"""


def test_each_field_reaches_the_engine_and_a_second_plan_is_clean(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient
) -> None:
    state = tmp_path / "desired_state"
    (state / "state.yaml").write_text(FIELDS)
    (state / "app.env").write_text("# comment\nFROM_FILE=file value\nA=overridden by environment\n")

    applied = reconcile("apply", "desired_state", "--auto-approve")  # validates, plans (shown), applies
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plan = applied.stdout
    assert "+ network.backend" in plan and "+ network.quiet" in plan
    assert "dev_only" not in plan  # its profile is not active: absent, and it does not exist
    assert "ports are not published with network_mode: host" in plan  # a warning, as compose warns

    record = docker_client.api.inspect_container("fields-engine-name")
    config, host = record["Config"], record["HostConfig"]
    networks = record["NetworkSettings"]["Networks"]
    assert sorted(networks) == ["backend", "quiet"]
    assert {"api", "api-v1"} <= set(networks["backend"]["Aliases"])
    assert docker_client.api.inspect_network("quiet")["Internal"] is True
    assert docker_client.api.inspect_network("backend")["Labels"]["team"] == "ops"
    assert (config["Hostname"], config["Domainname"], config["WorkingDir"]) == ("box", "example.test", "/tmp")
    assert set(config["ExposedPorts"]) == {"8080", "53/udp"}  # as declared, as compose hands them over
    assert sorted(host["ExtraHosts"]) == ["cache.internal:10.0.0.6", "db.internal:10.0.0.5"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (["10.0.0.53"], ["example.test"], ["ndots:2"])
    assert sorted((u["Name"], u["Soft"], u["Hard"]) for u in host["Ulimits"]) == [("nofile", 1024, 2048), ("nproc", 512, 512)]
    assert [c.removeprefix("CAP_") for c in host["CapAdd"]] == ["NET_ADMIN"]
    assert [c.removeprefix("CAP_") for c in host["CapDrop"]] == ["MKNOD"]
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/run": "size=1m", "/scratch": "size=2097152"}
    assert sorted(host["Binds"]) == sorted(
        [f"{state / 'data'}:/data:ro", "i19b-compose-fields:/vol:rw", f"{state / 'conf'}:/conf:ro"]
    )
    assert host["ShmSize"] == 32 * 1024**2  # 32mb in docker's units
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert host["Devices"] == [{"PathOnHost": "/dev/zero", "PathInContainer": "/dev/myzero", "CgroupPermissions": "r"}]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["GroupAdd"] == ["100"]
    assert (config["Tty"], config["OpenStdin"]) == (True, True)
    assert (host["NanoCpus"], host["Memory"], host["PidsLimit"], host["MemoryReservation"]) == (
        500_000_000, 64 * 1024**2, 64, 32 * 1024**2,
    )  # fmt: skip
    assert (config["Labels"]["team"], config["Labels"]["bare"]) == ("ops", "")
    env = dict(item.partition("=")[::2] for item in config["Env"])
    assert (env["A"], env["FROM_FILE"]) == ("1", "file value")
    assert "NOT_SET_ANYWHERE" not in env and "x-note" not in str(config)
    assert host["RestartPolicy"]["Name"] == "unless-stopped" and host["Init"] is True  # from the merge key
    later = docker_client.api.inspect_container("later")
    assert later["HostConfig"]["NetworkMode"] == "host" and not later["HostConfig"]["PortBindings"]
    assert not docker_client.containers.list(all=True, filters={"name": "dev_only"})

    again = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout  # nothing to do: no default shows as drift

    (state / "state.yaml").write_text(FIELDS.replace("pids: 64", "pids: 128").replace("hostname: box", "hostname: box2"))
    started = docker_client.api.inspect_container("later")["State"]["StartedAt"]
    replaced = reconcile("apply", "desired_state", "--auto-approve")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert "pids_limit: 64 → 128" in replaced.stdout and 'hostname: "box" → "box2"' in replaced.stdout
    assert "-/+ container.fields" in replaced.stdout  # the hostname cannot change in place
    assert "restarted later (depends_on restart: true)" in replaced.stdout
    assert docker_client.api.inspect_container("later")["State"]["StartedAt"] != started
    record = docker_client.api.inspect_container("fields-engine-name")
    assert (record["Config"]["Hostname"], record["HostConfig"]["PidsLimit"]) == ("box2", 128)

    (state / "state.yaml").write_text("containers:\n  dev_only: {image: reconciler-test/busybox:1, state: absent}\n")
    removed = reconcile("apply", "desired_state", "--auto-approve")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not docker_client.networks.list(names=["backend", "quiet"])  # removed after the containers on them
    assert not docker_client.containers.list(all=True, filters={"label": "reconciler.managed=true"})


MASTODON = Path(__file__).parent / "compose" / "mastodon-docker-compose.yml"


def test_mastodons_compose_file_pasted_under_containers_plans_and_applies(
    tmp_path: Path, reconcile: Reconcile, docker_client: docker.DockerClient
) -> None:
    """mastodon/mastodon's production docker-compose.yml (v4.3), services pasted under containers:
    unchanged: two networks (one internal), env_file, shm_size, relative bind paths, healthchecks,
    depends_on, published ports. Its images are stand-ins built here under the file's own names."""
    for image in ("postgres:14-alpine", "redis:7-alpine", "ghcr.io/mastodon/mastodon:v4.3.17",
                  "ghcr.io/mastodon/mastodon-streaming:v4.3.17"):  # fmt: skip
        build_stand_in(docker_client, image)
    state = tmp_path / "desired_state"
    pasted = MASTODON.read_text().replace("\nservices:\n", "\ncontainers:\n")
    assert pasted != MASTODON.read_text()
    (state / "docker-compose.yml").write_text(pasted)
    (state / ".env.production").write_text("LOCAL_DOMAIN=example.test\nSECRET_KEY_BASE=not-a-real-secret\n")

    applied = reconcile("apply", "desired_state", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Plan: 7 to add" in applied.stdout  # five containers, two networks
    assert "not-a-real-secret" not in applied.stdout + applied.stderr  # env_file values are sensitive

    web = docker_client.api.inspect_container("web")
    assert sorted(web["NetworkSettings"]["Networks"]) == ["external_network", "internal_network"]
    assert "SECRET_KEY_BASE=not-a-real-secret" in web["Config"]["Env"]
    assert web["HostConfig"]["PortBindings"] == {"3000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "3000"}]}
    db = docker_client.api.inspect_container("db")
    assert db["HostConfig"]["ShmSize"] == 256 * 1024**2
    assert db["HostConfig"]["Binds"] == [f"{state / 'postgres14'}:/var/lib/postgresql/data:rw"]
    assert docker_client.api.inspect_network("internal_network")["Internal"] is True
    again = reconcile("plan", "desired_state", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
