"""Field types of the compose service fields beyond the first subset (SPEC §1.2): each parses every
form the Compose specification allows (short and long syntax, lists and mappings) into one
normalised value, says what is wrong in a user's words, and describes itself in the JSON Schema."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from reconciler import units
from reconciler.model.fields import NAME_PATTERN, SubpathError, _plain, _show, _text
from reconciler.model.sensitive import Sensitive
from reconciler.model.source import LeadingZero


def _checked(parse: Any, schema: dict[str, Any], serialize: Any = None) -> list[Any]:
    extras: list[Any] = [PlainValidator(parse), WithJsonSchema(schema)]
    if serialize is not None:
        extras.append(PlainSerializer(serialize))
    return extras


def _scalar(value: object, where: str) -> str:
    value = _plain(value, "a string")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"{where}: expected a string or a number, got {type(value).__name__}")


def _string_list(value: object, what: str) -> tuple[str, ...]:
    """A list of strings, or one string (compose allows both for dns, tmpfs, env_file, …)."""
    value = _plain(value, "a list")
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ValueError(f"expected a list of {what}, got {type(value).__name__}")
    items = []
    for index, item in enumerate(value):
        if isinstance(item, Sensitive) or not isinstance(item, (str, int)) or isinstance(item, bool):
            raise SubpathError(f"expected {what[:-1] if what.endswith('s') else what}, got {item!r}", index)
        items.append(str(item))
    return tuple(items)


def _strings(what: str) -> Any:
    def parse(value: object) -> tuple[str, ...]:
        return _string_list(value, what)

    return Annotated[
        tuple[str, ...],
        *_checked(parse, {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}, list),
    ]


Strings = _strings("strings")


def _key_values(value: object, separators: str, what: str) -> dict[str, str]:
    """A mapping, or a list of KEY=VALUE (or KEY:VALUE where ``separators`` allows)."""
    value = _plain(value, "a mapping")
    result: dict[str, str] = {}
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise SubpathError(f"expected KEY=VALUE, got {item!r}", index)
            cut = min((item.find(sep) for sep in separators if sep in item), default=-1)
            if cut <= 0:
                raise SubpathError(f"expected {what} as KEY{separators[0]}VALUE, got {item!r}", index)
            result[item[:cut]] = item[cut + 1 :]
        return result
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping or a list, got {type(value).__name__}")
    for key, item in value.items():
        if item is None:
            raise SubpathError(f"{key} has no value", key)
        try:
            result[str(key)] = _scalar(item, str(key))
        except ValueError as error:
            raise SubpathError(str(error), key) from None
    return result


KEY_VALUES_SCHEMA = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        {"type": "array", "items": {"type": "string"}},
    ]
}


def _sysctls(value: object) -> dict[str, str]:
    return _key_values(value, "=", "a sysctl")


Sysctls = Annotated[dict[str, str], *_checked(_sysctls, KEY_VALUES_SCHEMA)]


def _extra_hosts(value: object) -> tuple[str, ...]:
    """``host:ip``, ``host=ip`` or ``{host: ip}`` → sorted ``host:ip`` (as the engine stores them)."""
    if isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not re.match(r"^[^:=\s]+[:=]\S+$", item):
                raise SubpathError(f"expected HOST:IP or HOST=IP, got {item!r}", index)
            cut = min(i for i in (item.find(":"), item.find("=")) if i > 0)
            pairs.append((item[:cut], item[cut + 1 :]))
    else:
        pairs = list(_key_values(value, "=", "a host").items())
    return tuple(sorted(f"{host}:{address.strip('[]')}" for host, address in pairs))


ExtraHosts = Annotated[tuple[str, ...], *_checked(_extra_hosts, KEY_VALUES_SCHEMA, list)]


def _ulimits(value: object) -> dict[str, tuple[int, int]]:
    """``{nofile: {soft: 1024, hard: 2048}, nproc: 65535}`` → name → (soft, hard)."""
    value = _plain(value, "a mapping")
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping like {{nofile: {{soft: 1024, hard: 2048}}}}, got {type(value).__name__}")
    limits: dict[str, tuple[int, int]] = {}
    for name, limit in value.items():
        if isinstance(limit, int) and not isinstance(limit, bool):
            limits[name] = (limit, limit)
        elif (
            isinstance(limit, dict)
            and set(limit) == {"soft", "hard"}
            and all(isinstance(limit[k], int) and not isinstance(limit[k], bool) for k in ("soft", "hard"))
        ):
            limits[name] = (limit["soft"], limit["hard"])
        else:
            raise SubpathError(f"expected a number or {{soft: N, hard: N}}, got {limit!r}", name)
    return limits


Ulimits = Annotated[
    dict[str, tuple[int, int]],
    *_checked(
        _ulimits,
        {"type": "object", "additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "object"}]}},
        lambda limits: {name: {"soft": soft, "hard": hard} for name, (soft, hard) in limits.items()},
    ),
]


def _capabilities(value: object) -> tuple[str, ...]:
    """Capability names, with or without CAP_, any case → sorted, without CAP_, upper case."""
    names = {name.upper().removeprefix("CAP_") for name in _string_list(value, "capabilities")}
    return tuple(sorted(names))


Capabilities = Annotated[tuple[str, ...], *_checked(_capabilities, {"type": "array", "items": {"type": "string"}}, list)]


def _tmpfs(value: object) -> dict[str, str]:
    """``/run`` or ``[/run, "/tmp:size=64m,mode=1777"]`` → path → options."""
    mounts = {}
    for index, item in enumerate(_string_list(value, "paths")):
        path, _, options = item.partition(":")
        if not path.startswith("/"):
            raise SubpathError(f"a tmpfs path must be absolute, got {path!r}", index)
        mounts[path] = options
    return mounts


Tmpfs = Annotated[
    dict[str, str],
    *_checked(
        _tmpfs,
        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        lambda mounts: [f"{path}:{options}" if options else path for path, options in mounts.items()],
    ),
]


def _long_devices(value: object) -> object:
    """Compose's long form ``{source, target, permissions}`` as the short one."""
    if not isinstance(value, list):
        return value
    short: list[object] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            short.append(item)
            continue
        unknown = set(item) - {"source", "target", "permissions"}
        if unknown or not isinstance(item.get("source"), str):
            raise SubpathError("expected {source: /dev/HOST, target: /dev/CONTAINER, permissions: rwm}", index)
        short.append(":".join([item["source"], str(item.get("target") or item["source"]), str(item.get("permissions") or "rwm")]))
    return short


def _devices(value: object) -> tuple[str, ...]:
    """``/dev/x``, ``/dev/x:/dev/y``, ``/dev/x:/dev/y:rwm``, ``{source, target, permissions}`` →
    ``HOST:CONTAINER:PERMISSIONS``."""
    devices = []
    for index, item in enumerate(_string_list(_long_devices(_plain(value, "a list")), "devices")):
        parts = item.split(":")
        if not parts[0].startswith("/") or len(parts) > 3:
            raise SubpathError(f"expected /dev/HOST[:/dev/CONTAINER[:rwm]], got {item!r}", index)
        if len(parts) == 2 and not parts[1].startswith("/"):
            parts = [parts[0], parts[0], parts[1]]
        host, container, permissions = (parts + [parts[0], "rwm"][len(parts) - 1 :])[:3]
        if not re.fullmatch(r"[rwm]+", permissions):
            raise SubpathError(f"invalid device permissions {permissions!r}: expected letters of rwm", index)
        devices.append(f"{host}:{container}:{permissions}")
    return tuple(devices)


Devices = Annotated[
    tuple[str, ...],
    *_checked(_devices, {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}, list),
]


def _expose(value: object) -> tuple[str, ...]:
    """``[3000, "8000-8001", "53/udp"]`` → sorted, each as written: compose hands the engine what
    was declared, and the engine keeps it so (the container kind compares them port by port)."""
    value = _plain(value, "a list")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of ports, got {type(value).__name__}")
    ports = set()
    for index, item in enumerate(value):
        text = str(item) if isinstance(item, (int, str)) and not isinstance(item, bool) else ""
        if not re.fullmatch(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", text):
            raise SubpathError(f"expected a port like 3000 or 53/udp, got {item!r}", index)
        ports.add(text)
    return tuple(sorted(ports, key=_port_order))


def _port_order(text: str) -> tuple[int, str]:
    return int(text.partition("/")[0].partition("-")[0]), text


Expose = Annotated[
    tuple[str, ...],
    *_checked(_expose, {"type": "array", "items": {"type": ["string", "integer"]}}, list),
]


def _cpus(value: object) -> float:
    """A number of CPUs: a number, or compose's string form "0.5"."""
    value = _plain(value, "a number")
    try:
        number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else 0.0
    except ValueError:
        number = 0.0
    if number <= 0:
        raise ValueError(f"expected a number of CPUs above 0, got {value!r}")
    return number


Cpus = Annotated[float, *_checked(_cpus, {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string"}]})]


PLATFORM_PATTERN = r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$"


def _platform(value: object) -> str:
    text = _text(value, "a platform")
    if not re.fullmatch(PLATFORM_PATTERN, text):
        raise ValueError(f"invalid platform {text!r}: expected OS/ARCH[/VARIANT], e.g. linux/amd64")
    return text


Platform = Annotated[str, *_checked(_platform, {"type": "string", "pattern": PLATFORM_PATTERN})]


PULL_POLICIES = ("always", "never", "missing", "if_not_present")


def _pull_policy(value: object) -> str:
    text = _text(value, "a pull policy")
    if text == "build":
        raise ValueError("not supported: pull_policy: build — reconcile never builds; build and push the image in CI")
    if text in ("daily", "weekly") or text.startswith("every_"):
        raise ValueError(f"not supported: pull_policy: {text} — use missing (the default) and change the image tag to update")
    if text not in PULL_POLICIES:
        raise ValueError(f"invalid pull_policy {text!r}: expected always, never, missing or if_not_present")
    return "missing" if text == "if_not_present" else text


PullPolicy = Annotated[str, *_checked(_pull_policy, {"enum": list(PULL_POLICIES)})]


def _profiles(value: object) -> tuple[str, ...]:
    names = _string_list(value, "profile names")
    for index, name in enumerate(names):
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name):
            raise SubpathError(f"invalid profile name {name!r}", index)
    return names


Profiles = Annotated[tuple[str, ...], *_checked(_profiles, {"type": "array", "items": {"type": "string"}}, list)]


# --- env_file ------------------------------------------------------------------------------------


def _env_files(value: object) -> tuple[tuple[str, bool], ...]:
    """``.env``, ``[a.env, b.env]`` or ``[{path: a.env, required: false}]`` → (path, required).
    The loader has already made each path absolute (relative to the file that declares it)."""
    value = _plain(value, "a path")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError(f"expected a path or a list of paths, got {type(value).__name__}")
    files = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            unknown = set(item) - {"path", "required", "format"}
            if unknown or not isinstance(item.get("path"), str) or not isinstance(item.get("required", True), bool):
                raise SubpathError("expected {path: FILE, required: true|false}", index)
            if item.get("format") not in (None, "raw"):
                raise SubpathError(f"unknown env_file format {item.get('format')!r}: expected raw", index, "format")
            files.append((item["path"], bool(item.get("required", True))))
        elif isinstance(item, str):
            files.append((item, True))
        else:
            raise SubpathError(f"expected a path, got {item!r}", index)
    return tuple(files)


EnvFiles = Annotated[
    tuple[tuple[str, bool], ...],
    *_checked(
        _env_files,
        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}]},
        lambda files: [path if required else {"path": path, "required": False} for path, required in files],
    ),
]


ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def read_env_files(files: tuple[tuple[str, bool], ...]) -> dict[str, str | Sensitive]:
    """The variables of each env file, later files winning, as compose reads them. The values are
    sensitive: an env file is where compose users keep their secrets. A line that is not
    ``KEY=VALUE`` (or a comment) is an error naming its line and quoting nothing of it: a file that
    is no env file (a private key) must not come out line by line as keys."""
    values: dict[str, str | Sensitive] = {}
    for index, (path, required) in enumerate(files):
        file = Path(path)
        if not file.is_file():
            if required:
                raise SubpathError(f"env_file {path}: no such file (mark it {{path: …, required: false}} if optional)", index)
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SubpathError(f"env_file {path}: cannot read it ({getattr(error, 'strerror', None) or error})", index) from None
        from dotenv.parser import parse_stream  # here: a state without env_file never imports it

        for binding in parse_stream(io.StringIO(text)):
            if binding.key is None and not binding.error:
                continue  # a comment or a blank line
            if binding.error or binding.value is None or not ENV_KEY.fullmatch(binding.key or ""):
                line = binding.original.line + len(binding.original.string) - len(binding.original.string.lstrip("\n"))
                raise SubpathError(
                    f"env_file {path}:{line}: not KEY=VALUE (a name of letters, digits and _, then =); the line is not shown",
                    index,
                )
            values[binding.key or ""] = Sensitive(binding.value)
    return values


# --- depends_on ----------------------------------------------------------------------------------

CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


@dataclass(frozen=True)
class Dependency:
    """How a container waits for one it depends on. ``condition`` None is the short form:
    running, and healthy if it has a healthcheck."""

    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] | None = None
    required: bool = True
    restart: bool = False


def _dependency(name: str, options: object) -> Dependency:
    if options is None:
        return Dependency()
    if not isinstance(options, dict):
        raise SubpathError(f"expected a mapping like {{condition: service_healthy}}, got {options!r}", name)
    for key in options:
        if key not in ("condition", "required", "restart"):
            raise SubpathError(f"unknown key {key!r}: depends_on takes condition, required and restart", name, key)
    condition = options.get("condition")
    if condition is not None and condition not in CONDITIONS:
        raise SubpathError(
            f"invalid condition {condition!r}: expected service_started, service_healthy or service_completed_successfully",
            name,
            "condition",
        )
    for flag in ("required", "restart"):
        if not isinstance(options.get(flag, False), bool):
            raise SubpathError(f"expected true or false, got {options[flag]!r}", name, flag)
    return Dependency(condition, options.get("required", True), options.get("restart", False))


def _depends_on(value: object) -> dict[str, Dependency]:
    """A list of container names, or compose's long form ``{name: {condition, required, restart}}``."""
    value = _plain(value, "a list")
    result: dict[str, Dependency] = {}
    if isinstance(value, dict):
        for key, options in value.items():
            result[str(key)] = _dependency(str(key), options)
        return result
    if not isinstance(value, list):
        raise ValueError(f"expected a list of container names, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise SubpathError(f"expected a container name, got {item!r}", index)
        if item in result:
            raise SubpathError(f"{item!r} is listed twice", index)
        result[item] = Dependency()
    return result


def _show_depends_on(dependencies: dict[str, Dependency]) -> Any:
    if all(dependency == Dependency() for dependency in dependencies.values()):
        return list(dependencies)
    shown: dict[str, Any] = {}
    for name, dependency in dependencies.items():
        options: dict[str, Any] = {}
        if dependency.condition:
            options["condition"] = dependency.condition
        if not dependency.required:
            options["required"] = False
        if dependency.restart:
            options["restart"] = True
        shown[name] = options or None
    return shown


DependsOn = Annotated[
    dict[str, Dependency],
    *_checked(
        _depends_on,
        {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
        _show_depends_on,
    ),
]


# --- networks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A container's place on a user-defined network."""

    aliases: tuple[str, ...] = ()


def _networks(value: object) -> dict[str, Attachment]:
    """``[front, back]`` or ``{front: {aliases: [web]}, back: null}`` → network → attachment."""
    value = _plain(value, "a list")
    names: dict[str, Any] = {}
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise SubpathError(f"expected a network name, got {item!r}", index)
            names[item] = None
    elif isinstance(value, dict):
        names = dict(value)
    else:
        raise ValueError(f"expected a list or a mapping of networks, got {type(value).__name__}")
    result = {}
    for name, options in names.items():
        if not re.fullmatch(NAME_PATTERN, name):
            raise SubpathError(f"invalid network name {name!r}", name)
        if options is None:
            result[name] = Attachment()
            continue
        if not isinstance(options, dict):
            raise SubpathError(f"expected a mapping like {{aliases: [NAME]}}, got {options!r}", name)
        for key in options:
            if key != "aliases":
                raise SubpathError(
                    f"not supported: networks.{name}.{key} — reconcile attaches with aliases only; "
                    "let the network's IPAM choose addresses",
                    name,
                    key,
                )
        aliases = options.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise SubpathError("expected a list of alias names", name, "aliases")
        result[name] = Attachment(tuple(sorted(set(aliases))))
    return result


Networks = Annotated[
    dict[str, Attachment],
    *_checked(
        _networks,
        {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
        lambda networks: {name: {"aliases": list(a.aliases)} if a.aliases else None for name, a in networks.items()},
    ),
]


# --- ports and volumes, short and long syntax -----------------------------------------------------

PORT_KEYS = ("target", "published", "host_ip", "protocol", "mode", "name", "app_protocol")


def _long_port(item: dict[str, Any], index: int) -> units.PortMapping:
    for key in item:
        if key not in PORT_KEYS:
            raise SubpathError(f"unknown key {key!r}: a port takes {', '.join(PORT_KEYS)}", index, key)
    target = item.get("target")
    if not isinstance(target, (int, str)) or isinstance(target, bool):
        raise SubpathError("a long-syntax port needs target: CONTAINER_PORT", index)
    text = str(target)
    published = item.get("published")
    if published is not None:
        text = f"{published}:{text}"
        if item.get("host_ip"):
            host_ip = str(item["host_ip"])
            text = f"[{host_ip}]:{text}" if ":" in host_ip else f"{host_ip}:{text}"
    elif item.get("host_ip"):
        raise SubpathError("host_ip needs published: HOST_PORT", index, "host_ip")
    if item.get("protocol"):
        text += f"/{item['protocol']}"
    try:
        return units.parse_port(text)
    except ValueError as error:
        raise SubpathError(str(error), index) from None


def _ports(value: object) -> tuple[units.PortMapping, ...]:
    value = _plain(value, "a list")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of ports, got {type(value).__name__}")
    ports = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            ports.append(_long_port(item, index))
            continue
        if not isinstance(item, (int, str)) or isinstance(item, bool):
            shown = _show(item) if isinstance(item, Sensitive) else item
            raise SubpathError(f'expected a port like "127.0.0.1:8080:80", got {shown!r}', index)
        try:
            ports.append(units.parse_port(item))
        except ValueError as error:
            raise SubpathError(str(error), index) from None
    return tuple(ports)


Ports = Annotated[
    tuple[units.PortMapping, ...],
    *_checked(
        _ports,
        {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "object"}]}},
        lambda ports: [str(port) for port in ports],
    ),
]

IGNORED_MODES = ("cached", "delegated", "consistent")  # macOS file sharing hints; nothing on Linux
VOLUME_KEYS = ("type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency")


def tmpfs_of_long_volume(item: dict[str, Any]) -> str:
    """A long-syntax ``{type: tmpfs, target, tmpfs: {size}}`` volume as a ``tmpfs:`` entry."""
    size = (item.get("tmpfs") or {}).get("size")
    return f"{item.get('target')}:size={units.parse_ram(size)}" if size is not None else str(item.get("target"))


def _long_volume(item: dict[str, Any], index: int) -> units.VolumeMount:
    for key in item:
        if key not in VOLUME_KEYS:
            raise SubpathError(f"unknown key {key!r}: a volume takes {', '.join(VOLUME_KEYS)}", index, key)
    kind = item.get("type", "volume")
    target = item.get("target")
    if not isinstance(target, str) or not target.startswith("/"):
        raise SubpathError("a long-syntax volume needs an absolute target", index)
    if kind not in ("volume", "bind"):
        raise SubpathError(f"not supported: volume type {kind!r} — use a bind mount, a named volume or tmpfs", index, "type")
    for option, allowed in (("bind", {"create_host_path", "propagation"}), ("volume", {"nocopy", "subpath"})):
        extra = set(item.get(option) or {}) - ({"create_host_path"} if option == "bind" else set())
        if extra & allowed:
            raise SubpathError(f"not supported: {option}.{sorted(extra)[0]} — write the mount without it", index, option)
    source = item.get("source")
    if not isinstance(source, str) or not source:
        raise SubpathError("not supported: an anonymous volume — give it a name (source: NAME), so it survives a replace", index)
    mode = "ro" if item.get("read_only") else "rw"
    selinux = (item.get("bind") or {}).get("selinux") if kind == "bind" else None
    if selinux not in (None, "z", "Z"):
        raise SubpathError(f"invalid bind.selinux {selinux!r}: expected z or Z", index, "bind")
    try:
        return units.parse_volume(f"{source}:{target}:{mode}{',' + selinux if selinux else ''}")
    except ValueError as error:
        raise SubpathError(str(error), index) from None


def _short_volume(item: str, index: int) -> units.VolumeMount:
    parts = item.split(":")
    if len(parts) == 1:
        raise SubpathError(
            f"not supported: an anonymous volume {item!r} — give it a name (NAME:{item}), so it survives a replace", index
        )
    if len(parts) == 3:
        modes = [m for m in parts[2].split(",") if m not in IGNORED_MODES]
        if any(m not in ("ro", "rw", "z", "Z") for m in modes):
            raise SubpathError(
                f"not supported: volume mode {parts[2]!r} in {item!r} — use ro or rw, and z or Z for SELinux", index
            )
        parts[2] = ",".join(["ro" if "ro" in modes else "rw", *(m for m in modes if m in ("z", "Z"))])
        item = ":".join(parts)
    try:
        return units.parse_volume(item)
    except ValueError as error:
        raise SubpathError(str(error), index) from None


def _volumes(value: object) -> tuple[units.VolumeMount, ...]:
    value = _plain(value, "a list")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of volumes, got {type(value).__name__}")
    mounts: list[units.VolumeMount] = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            mounts.append(_long_volume(item, index))
        elif isinstance(item, str):
            mounts.append(_short_volume(item, index))
        else:
            raise SubpathError(f'expected a volume like "data:/data", got {item!r}', index)
    return tuple(mounts)


Volumes = Annotated[
    tuple[units.VolumeMount, ...],
    *_checked(
        _volumes,
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
        lambda mounts: [str(m) for m in mounts],
    ),
]


# --- configs -------------------------------------------------------------------------------------

CONFIG_KEYS = ("source", "target", "uid", "gid", "mode")
DEFAULT_CONFIG_MODE = 0o444
MAX_CONFIG_BYTES = 1024 * 1024  # a config's content; a larger file is refused at load


@dataclass(frozen=True)
class ConfigMount:
    """A config (top-level configs:) as a file in the container: compose's service-level configs:."""

    source: str
    target: str
    uid: str = "0"
    gid: str = "0"
    mode: int = DEFAULT_CONFIG_MODE

    def __str__(self) -> str:
        return f"{self.source}:{self.target} uid={self.uid} gid={self.gid} mode={self.mode:04o}"


def _config_id(value: object, index: int, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise SubpathError(f"{key} must be a number (a user or group id), got {value!r}", index, key)
    return str(value)


def _config_mode(value: object, index: int) -> int:
    """Octal, as compose reads it: ``"0440"``, ``0o440``, and a bare ``0440`` (YAML 1.2 reads that as
    the decimal 440, compose's YAML 1.1 as octal: the loader keeps how it was written)."""
    if isinstance(value, str) and re.fullmatch(r"0?o?[0-7]{1,4}", value):
        mode = int(value.replace("o", ""), 8)
    elif isinstance(value, LeadingZero) and re.fullmatch(r"0[0-7]{1,4}", value.written):
        mode = int(value.written, 8)
    elif isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        raise SubpathError(f'mode must be octal, like "0440", got {value!r}', index, "mode")
    if not 0 <= mode <= 0o7777:
        raise SubpathError(f"mode {mode:o} is out of range (at most 7777 octal)", index, "mode")
    return mode


SECRETS_DIRECTORY = "/run/secrets"  # compose's: a secret's default target, and where a relative one goes


def _config_target(source: str, target: object) -> str | None:
    """A config's target: /SOURCE by default; it must be an absolute path."""
    target = f"/{source}" if target is None else target
    return target if isinstance(target, str) and target.startswith("/") else None


def _secret_target(source: str, target: object) -> str | None:
    """A secret's target, as compose reads it: /run/secrets/SOURCE by default, a relative one under
    /run/secrets."""
    target = source if target is None else target
    if not isinstance(target, str) or not target or ".." in target.split("/"):
        return None
    return target if target.startswith("/") else f"{SECRETS_DIRECTORY}/{target}"


def _file_mounts(value: object, what: str, place: Callable[[str, object], str | None]) -> tuple[ConfigMount, ...]:
    """A service's configs: or secrets: (``what``), short and long forms; ``place`` gives the target."""
    value = _plain(value, "a list")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of {what}s, got {type(value).__name__}")
    mounts: list[ConfigMount] = []
    for index, item in enumerate(value):
        if isinstance(item, str) and re.fullmatch(NAME_PATTERN, item):
            mounts.append(ConfigMount(item, place(item, None) or f"/{item}"))
            continue
        if not isinstance(item, dict):
            raise SubpathError(f"expected a {what}'s name or {{source, target, uid, gid, mode}}, got {item!r}", index)
        for key in item:
            if key not in CONFIG_KEYS:
                raise SubpathError(f"unknown key {key!r}: a {what} takes {', '.join(CONFIG_KEYS)}", index, key)
        source = item.get("source")
        if not isinstance(source, str) or not re.fullmatch(NAME_PATTERN, source):
            raise SubpathError(f"source must name a {what} declared under the top-level {what}s:", index, "source")
        target = place(source, item.get("target"))
        if target is None or target.rstrip("/") == "":
            raise SubpathError(f"target must be a file path, got {item.get('target')!r}", index, "target")
        mounts.append(
            ConfigMount(
                source,
                target,
                _config_id(item.get("uid", "0"), index, "uid"),
                _config_id(item.get("gid", "0"), index, "gid"),
                _config_mode(item.get("mode", DEFAULT_CONFIG_MODE), index),
            )
        )
    targets = [mount.target for mount in mounts]
    for index, target in enumerate(targets):
        if target in targets[:index]:
            raise SubpathError(f"two {what}s at {target}", index)
    return tuple(mounts)


def _config_mounts(value: object) -> tuple[ConfigMount, ...]:
    return _file_mounts(value, "config", _config_target)


def _secret_mounts(value: object) -> tuple[ConfigMount, ...]:
    return _file_mounts(value, "secret", _secret_target)


def _mounts_as_written(mounts: tuple[ConfigMount, ...]) -> list[dict[str, str]]:
    return [{"source": m.source, "target": m.target, "uid": m.uid, "gid": m.gid, "mode": f"{m.mode:04o}"} for m in mounts]


_MOUNTS_SCHEMA = {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}
SecretMounts = Annotated[tuple[ConfigMount, ...], *_checked(_secret_mounts, _MOUNTS_SCHEMA, _mounts_as_written)]


ConfigMounts = Annotated[tuple[ConfigMount, ...], *_checked(_config_mounts, _MOUNTS_SCHEMA, _mounts_as_written)]
