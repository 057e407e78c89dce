"""The compose fields beyond the first subset, in the container field table's terms (see
container_view.py): each read the same way from the spec (the image's defaults merged in first) and
from `docker inspect`, and turned into the Engine API's create arguments. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docker.types import Ulimit

from reconciler.model.spec import Container

UNDECLARED = object()
"""A desired value the engine chooses when the spec says nothing (a hostname, the shm size): never drift."""

DEFAULT_SHM_BYTES = 64 * 1024 * 1024


def first_network(spec: Container) -> str | None:
    """The network a container is created on (the others are connected before it starts): the
    first by name, as compose orders them, so the engine's NetworkMode is predictable."""
    return sorted(spec.networks)[0] if spec.networks else None


def _platform(text: str) -> str:
    return "/".join(text.split("/")[:2])


def _pids(limit: int | None) -> int | None:
    return limit if limit and limit > 0 else None


def one_port_a_key(keys: Iterable[str]) -> set[str]:
    """ExposedPorts keys as written (``3306``, ``53/udp``, ``8000-8001``) → ``PORT/PROTOCOL``, one a port."""
    ports = set()
    for key in keys:
        number, _, protocol = key.partition("/")
        start, _, end = number.partition("-")
        if start.isdigit() and (not end or end.isdigit()):
            ports |= {f"{n}/{protocol or 'tcp'}" for n in range(int(start), int(end or start) + 1)}
        else:
            ports.add(key)
    return ports


def exposed_ports(spec: Container, image_exposed: tuple[str, ...] = ()) -> list[str]:
    """Every port the container exposes, one a port: the image's, expose:, and the published ones."""
    ports = one_port_a_key(image_exposed) | one_port_a_key(spec.expose)
    if spec.network_mode != "host":
        for port in spec.ports:
            ports |= {f"{number}/{port.protocol}" for number in range(port.container_start, port.container_end + 1)}
    return sorted(ports)


def exposed_to_create(spec: Container) -> dict[str, dict[str, Any]]:
    """ExposedPorts to create with: expose: as declared (compose hands over what was written), and
    each published port it does not cover."""
    declared = set(spec.expose)
    published = set(exposed_ports(spec)) - one_port_a_key(declared)
    return {port: {} for port in sorted(declared | published)}


def desired_compose_view(spec: Container, defaults: Any) -> dict[str, Any]:
    """``defaults`` is the image's ImageDefaults."""
    return {
        "container_name": spec.container_name or UNDECLARED,
        "networks": {name: list(attachment.aliases) for name, attachment in sorted(spec.networks.items())},
        "hostname": spec.hostname if spec.hostname is not None else UNDECLARED,
        "domainname": spec.domainname,
        "extra_hosts": sorted(spec.extra_hosts),
        "dns": list(spec.dns),
        "dns_search": list(spec.dns_search),
        "dns_opt": list(spec.dns_opt),
        "working_dir": spec.working_dir or defaults.working_dir,
        "expose": exposed_ports(spec, defaults.exposed),
        "mem_reservation": spec.mem_reservation,
        "memswap_limit": spec.memswap_limit if spec.memswap_limit is not None else UNDECLARED,
        "pids_limit": _pids(spec.pids_limit),
        "ulimits": {name: f"{soft}:{hard}" for name, (soft, hard) in sorted(spec.ulimits.items())},
        "shm_size": spec.shm_size if spec.shm_size is not None else UNDECLARED,
        "group_add": sorted(spec.group_add),
        "cap_add": sorted(spec.cap_add),
        "cap_drop": sorted(spec.cap_drop),
        "privileged": spec.privileged,
        "read_only": spec.read_only,
        "security_opt": sorted(spec.security_opt),
        "sysctls": dict(spec.sysctls),
        "devices": sorted(spec.devices),
        "tmpfs": dict(spec.tmpfs),
        "tty": spec.tty,
        "stdin_open": spec.stdin_open,
        "platform": _platform(spec.platform) if spec.platform else UNDECLARED,
    }


def _capabilities(names: list[str] | None) -> list[str]:
    return sorted({name.upper().removeprefix("CAP_") for name in names or []})


def observed_compose_view(record: dict[str, Any], image: Any | None) -> dict[str, Any]:
    """``image`` is the ImageDefaults of the image the container runs."""
    config = record.get("Config") or {}
    host = record.get("HostConfig") or {}
    short_id = str(record.get("Id", ""))[:12]
    name = str(record.get("Name", "")).lstrip("/")
    networks = (record.get("NetworkSettings") or {}).get("Networks") or {}
    engine_aliases = (short_id, name, config.get("Hostname"))  # the engine adds these itself
    user_networks = {
        network: sorted({a for a in endpoint.get("Aliases") or [] if a not in engine_aliases})
        for network, endpoint in sorted(networks.items())
        if network not in ("bridge", "host", "none")
    }
    hostname = config.get("Hostname") or None
    return {
        "container_name": name,
        "networks": user_networks,
        "hostname": None if hostname == short_id else hostname,
        "domainname": config.get("Domainname") or None,
        "extra_hosts": sorted(host.get("ExtraHosts") or []),
        "dns": list(host.get("Dns") or []),
        "dns_search": list(host.get("DnsSearch") or []),
        "dns_opt": list(host.get("DnsOptions") or []),
        "working_dir": config.get("WorkingDir") or None,
        "expose": sorted(one_port_a_key(config.get("ExposedPorts") or {})),
        "mem_reservation": host.get("MemoryReservation") or None,
        "memswap_limit": host.get("MemorySwap") or None,
        "pids_limit": _pids(host.get("PidsLimit")),
        "ulimits": {u["Name"]: f"{u['Soft']}:{u['Hard']}" for u in sorted(host.get("Ulimits") or [], key=lambda u: u["Name"])},
        "shm_size": host.get("ShmSize") or DEFAULT_SHM_BYTES,
        "group_add": sorted(host.get("GroupAdd") or []),
        "cap_add": _capabilities(host.get("CapAdd")),
        "cap_drop": _capabilities(host.get("CapDrop")),
        "privileged": bool(host.get("Privileged")),
        "read_only": bool(host.get("ReadonlyRootfs")),
        "security_opt": sorted(host.get("SecurityOpt") or []),
        "sysctls": dict(host.get("Sysctls") or {}),
        "devices": sorted(
            f"{d['PathOnHost']}:{d['PathInContainer']}:{d.get('CgroupPermissions') or 'rwm'}" for d in host.get("Devices") or []
        ),
        "tmpfs": dict(host.get("Tmpfs") or {}),
        "tty": bool(config.get("Tty")),
        "stdin_open": bool(config.get("OpenStdin")),
        "platform": _platform(image.platform) if image is not None and image.platform != "/" else None,
    }


def _engine_capabilities(names: tuple[str, ...]) -> list[str] | None:
    """As compose hands them over: CAP_NAME (ALL stays ALL)."""
    return [name if name == "ALL" else f"CAP_{name}" for name in names] or None


def compose_host_config(spec: Container) -> dict[str, Any]:
    """The create_host_config arguments of these fields (None: the engine's default)."""
    return {
        "extra_hosts": list(spec.extra_hosts) or None,
        "dns": list(spec.dns) or None,
        "dns_search": list(spec.dns_search) or None,
        "dns_opt": list(spec.dns_opt) or None,
        "mem_reservation": spec.mem_reservation,
        "memswap_limit": spec.memswap_limit,
        "pids_limit": spec.pids_limit,
        "ulimits": [Ulimit(name=name, soft=soft, hard=hard) for name, (soft, hard) in spec.ulimits.items()] or None,
        "shm_size": spec.shm_size,
        "group_add": list(spec.group_add) or None,
        "cap_add": _engine_capabilities(spec.cap_add),
        "cap_drop": _engine_capabilities(spec.cap_drop),
        "privileged": spec.privileged,
        "read_only": spec.read_only or None,
        "security_opt": list(spec.security_opt) or None,
        "sysctls": dict(spec.sysctls) or None,
        "devices": list(spec.devices) or None,
        "tmpfs": dict(spec.tmpfs) or None,
    }


def compose_create_arguments(spec: Container, client: Any) -> dict[str, Any]:
    """The create_container arguments of these fields; the first network's endpoint with its aliases."""
    first = first_network(spec)
    return {
        "hostname": spec.hostname,
        "domainname": spec.domainname,
        "working_dir": spec.working_dir,
        "tty": spec.tty,
        "stdin_open": spec.stdin_open,
        "platform": spec.platform,
        "networking_config": client.create_networking_config(
            {first: client.create_endpoint_config(aliases=list(spec.networks[first].aliases) or None)}
        )
        if first
        else None,
    }


def later_networks(spec: Container) -> list[tuple[str, list[str]]]:
    """The networks to connect after create, before start, with their aliases."""
    first = first_network(spec)
    return [(name, list(a.aliases)) for name, a in sorted(spec.networks.items()) if name != first]
