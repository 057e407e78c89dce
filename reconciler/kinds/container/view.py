"""The container field table, after community.docker: each field has one normalised form, read
the same way from the desired spec (with the image's own defaults merged in first, as the engine
does) and from `docker inspect`, and a rule for applying a difference: in place or replace.
Everything here is pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.kinds.container.bind_files import recorded_files
from reconciler.kinds.container.compose_view import UNDECLARED, desired_compose_view, first_network, observed_compose_view
from reconciler.kinds.container.config_files import recorded_configs
from reconciler.kinds.container.secret_files import recorded_secrets
from reconciler.model.sensitive import REDACTED, Sensitive
from reconciler.model.spec import Container, Healthcheck
from reconciler.model.unknown import holds_unknown
from reconciler.units import VolumeMount, parse_port, stop_seconds

IN_PLACE = frozenset({"restart", "mem_limit", "cpus", "state", "health", "mem_reservation", "pids_limit"})
NANOSECOND = 1_000_000_000
HEALTH_DURATIONS = ("interval", "timeout", "start_period", "start_interval")


@dataclass(frozen=True)
class ImageDefaults:
    """What an image brings to a container that does not say otherwise."""

    id: str
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None  # the engine's form: Test, Interval (ns), …
    user: str = ""
    stop_signal: str | None = None
    working_dir: str | None = None
    exposed: tuple[str, ...] = ()
    platform: str = ""  # OS/ARCH

    @classmethod
    def from_inspect(cls, record: dict[str, Any]) -> ImageDefaults:
        config = record.get("Config") or {}
        return cls(
            id=record["Id"],
            cmd=tuple(config["Cmd"]) if config.get("Cmd") else None,
            entrypoint=tuple(config["Entrypoint"]) if config.get("Entrypoint") else None,
            env=env_dict(config.get("Env") or []),
            labels=dict(config.get("Labels") or {}),
            healthcheck=config.get("Healthcheck"),
            user=config.get("User") or "",
            stop_signal=config.get("StopSignal") or None,
            working_dir=config.get("WorkingDir") or None,
            exposed=tuple(config.get("ExposedPorts") or {}),
            platform=f"{record.get('Os', '')}/{record.get('Architecture', '')}",
        )


def env_dict(pairs: list[str]) -> dict[str, str]:
    return dict(pair.partition("=")[::2] for pair in pairs)


def _seconds(nanoseconds: int | None) -> float | None:
    return nanoseconds / NANOSECOND if nanoseconds else None


def _health_view(engine_form: dict[str, Any] | None) -> dict[str, Any]:
    engine_form = engine_form or {}
    view: dict[str, Any] = {"healthcheck.test": list(engine_form.get("Test") or []) or None}
    for name in HEALTH_DURATIONS:
        view[f"healthcheck.{name}"] = _seconds(engine_form.get(name.title().replace("_", "")))
    view["healthcheck.retries"] = engine_form.get("Retries") or None
    return view


def engine_healthcheck(spec: Healthcheck | None, image: dict[str, Any] | None) -> dict[str, Any] | None:
    """The healthcheck the engine will run: the spec's fields over the image's (as the engine
    merges them), in the engine's form. Sensitive test arguments stay Sensitive."""
    if spec is None:
        return image
    merged: dict[str, Any] = dict(image or {})
    test = ("NONE",) if spec.disable else spec.test
    if test is not None:
        merged["Test"] = list(test)
    for name in HEALTH_DURATIONS:
        value = getattr(spec, name)
        if value is not None:
            merged[name.title().replace("_", "")] = round(value.total_seconds() * NANOSECOND)
    if spec.retries is not None:
        merged["Retries"] = spec.retries
    return merged


def restart_view(name: str, maximum: int) -> str:
    if name in ("", "no"):
        return "no"
    return f"on-failure:{maximum}" if name == "on-failure" and maximum else name


def desired_view(
    spec: Container,
    image: ImageDefaults | None,
    log_driver: str,
    files: dict[str, str] | None = None,
    configs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The spec as the engine would report it, field by field. Values may be Sensitive. ``files``:
    the digests of the repository files it bind-mounts (bind_files.py); ``configs``: what each
    config it mounts is (config_files.py); None: not compared."""
    defaults = image or ImageDefaults(id="")
    entrypoint = list(spec.entrypoint) if spec.entrypoint is not None else list(defaults.entrypoint or []) or None
    if spec.command is not None:
        command = list(spec.command) or None
    else:  # the engine inherits the image's CMD only when the entrypoint is inherited too
        command = list(defaults.cmd or []) or None if spec.entrypoint is None else None
    view: dict[str, Any] = {
        "image": spec.image,
        "command": command,
        "entrypoint": entrypoint,
        "environment": {**defaults.env, **spec.environment},
        "ports": expand_ports([str(port) for port in spec.ports]),
        "volumes": sorted(str(volume) for volume in spec.volumes),
        "labels": {k: v for k, v in spec.labels.items() if defaults.labels.get(k) != v},
        "restart": spec.restart,
        **_health_view(engine_healthcheck(spec.healthcheck, defaults.healthcheck)),
        "logging.driver": spec.logging.driver if spec.logging else log_driver,
        "logging.options": dict(spec.logging.options) if spec.logging else {},
        "network_mode": first_network(spec) or spec.network_mode,
        "mem_limit": spec.mem_limit,
        "cpus": spec.cpus,
        "user": spec.user or defaults.user or None,
        "init": spec.init,
        "stop_signal": spec.stop_signal or defaults.stop_signal,
        "stop_grace_period": stop_seconds(spec.stop_grace_period) if spec.stop_grace_period else None,
        "state": "stopped" if spec.state == "stopped" else "running",
        **desired_compose_view(spec, defaults),
    }
    if files is not None:
        view["files"] = files
    if configs is not None:
        view["configs"] = configs
    if spec.network_mode == "host":
        view["ports"] = []  # the engine publishes nothing on the host's network (a warning says so)
    return view


def _ports_view(bindings: dict[str, Any] | None) -> list[str]:
    """HostConfig.PortBindings → compose short syntax, one entry per port (ranges expanded)."""
    ports = []
    for key, hosts in (bindings or {}).items():
        number, _, protocol = key.partition("/")
        for host in hosts or [{}]:
            host_ip, host_port = host.get("HostIp") or "", host.get("HostPort") or ""
            text = number if not host_port else f"{host_port}:{number}"
            if host_ip:
                ip = f"[{host_ip}]" if ":" in host_ip else host_ip
                text = f"{ip}:{text}" if host_port else f"{ip}::{number}"
            ports.append(text if protocol in ("", "tcp") else f"{text}/{protocol}")
    return sorted(ports)


def expand_ports(ports: list[str]) -> list[str]:
    """Compose ranges one port at a time, as the engine reports them."""
    expanded = []
    for text in ports:
        port = parse_port(text)
        if port.container_start == port.container_end:
            expanded.append(str(port))  # one container port, maybe from a host range the engine chooses in
            continue
        for offset in range(port.container_end - port.container_start + 1):
            host = None if port.host_start is None else int(port.host_port(offset) or 0)
            single = type(port)(
                port.container_start + offset, port.container_start + offset, host, host, port.host_ip, port.protocol
            )
            expanded.append(str(single))
    return sorted(expanded)


def _volume_view(binds: list[str] | None) -> list[str]:
    views = []
    for bind in binds or []:
        source, target, *mode = bind.split(":")
        options = mode[0].split(",") if mode else []
        views.append(str(VolumeMount(source, target, "ro" in options, next((o for o in options if o in ("z", "Z")), ""))))
    return sorted(views)


def observed_view(record: dict[str, Any], image: ImageDefaults | None, names_by_id: dict[str, str]) -> dict[str, Any]:
    """`docker inspect` of a container → the same fields as desired_view. ``image`` is the image
    the container runs, whose labels the engine copied in."""
    image_labels = image.labels if image else {}
    config = record.get("Config") or {}
    host = record.get("HostConfig") or {}
    restart = host.get("RestartPolicy") or {}
    log = host.get("LogConfig") or {}
    network = host.get("NetworkMode") or "default"
    if network.startswith("container:"):
        target = network.partition(":")[2]
        network = f"container:{names_by_id.get(target, target)}"
    status = (record.get("State") or {}).get("Status", "")
    return {
        "image": config.get("Image", ""),
        "command": list(config.get("Cmd") or []) or None,
        "entrypoint": list(config.get("Entrypoint") or []) or None,
        "environment": env_dict(config.get("Env") or []),
        "ports": _ports_view(host.get("PortBindings")),
        "volumes": _volume_view(host.get("Binds")),
        "labels": {
            k: v for k, v in (config.get("Labels") or {}).items() if not k.startswith("reconciler.") and image_labels.get(k) != v
        },
        "restart": restart_view(restart.get("Name", ""), restart.get("MaximumRetryCount", 0)),
        **_health_view(config.get("Healthcheck")),
        "logging.driver": log.get("Type", ""),
        "logging.options": dict(log.get("Config") or {}),
        "network_mode": "bridge" if network == "default" else network,
        "mem_limit": host.get("Memory") or None,
        "cpus": (host.get("NanoCpus") or 0) / NANOSECOND or None,
        "user": config.get("User") or None,
        "init": bool(host.get("Init")),
        "stop_signal": config.get("StopSignal") or None,
        "stop_grace_period": config.get("StopTimeout"),
        "state": "running" if status in ("running", "restarting", "paused") else "stopped",
        **observed_compose_view(record, image),
        "files": recorded_files(config.get("Labels") or {}),
        "configs": recorded_configs(config.get("Labels") or {}),
        "secrets": recorded_secrets(config.get("Labels") or {}),
    }


def _revealed(value: Any) -> Any:
    if isinstance(value, Sensitive):
        return value.reveal()
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _holds_secret(value: Any) -> bool:
    if isinstance(value, Sensitive):
        return True
    if isinstance(value, (dict, list)):
        return any(_holds_secret(v) for v in (value.values() if isinstance(value, dict) else value))
    return False


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any  # may hold Sensitive; the plan's Change redacts it

    @property
    def in_place(self) -> bool:
        return self.path in IN_PLACE

    @property
    def known_at_apply(self) -> bool:
        """The desired value uses a variable that has no value at plan."""
        return holds_unknown(self.after)


def _difference(path: str, want: Any, have: Any) -> list[FieldChange]:
    if _revealed(want) == have:
        return []
    # An environment value that was there before may have come from a secret: never shown; nor
    # what runs where the value is known only at apply (it may be a secret's).
    hidden = _holds_secret(want) or holds_unknown(want) or (path.startswith("environment.") and have is not None)
    return [FieldChange(path, REDACTED if hidden else have, want)]


def compare(desired: dict[str, Any], observed: dict[str, Any]) -> list[FieldChange]:
    """Field-by-field differences; mappings (environment, labels, logging options) key by key.
    Secrets are compared by value and shown on neither side."""
    changes = []
    for path, want in desired.items():
        if want is UNDECLARED:
            continue  # the engine chooses it (a hostname, the shm size) unless the spec does
        have = observed.get(path)
        if isinstance(want, dict):
            have = have or {}
            for key in sorted(set(want) | set(have)):
                changes += _difference(f"{path}.{key}", want.get(key), have.get(key))
        else:
            changes += _difference(path, want, have)
    return changes
