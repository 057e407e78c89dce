"""Parsers for the small languages inside the desired state: durations, sizes, EC2 instance types,
S3 bucket names, compose port and volume strings, addresses. Standard library only; each parser
raises ``ValueError`` with a message meant for the user."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

# --- durations (compose syntax, plus days) -------------------------------------------------------

_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h|d)")
DURATION_PATTERN = r"^(\d+(\.\d+)?(us|ms|s|m|h|d))+$"


def parse_duration(text: str) -> timedelta:
    """``500ms``, ``10s``, ``1m30s``, ``2h``, ``30d`` → timedelta."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"invalid duration {text!r}: use a number and a unit (us, ms, s, m, h, d), e.g. 30s or 1m30s")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest compose duration for ``value``: 90 s → ``1m30s``, 0.5 s → ``500ms``."""
    micros = round(value.total_seconds() * 1_000_000)
    if micros == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1000), ("us", 1)):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def stop_seconds(grace: timedelta) -> int:
    """A stop grace period as the engine's whole seconds, cut as compose cuts it (1500ms → 1)."""
    return int(grace.total_seconds())


# --- sizes -------------------------------------------------------------------------------------

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,  # docker's one-letter units are binary
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
SIZE_PATTERN = r"^\d+(\.\d+)?\s*([kKmMgGtT]([iI]?[bB])?|[bB])?$"


def parse_size(value: int | str) -> int:
    """``512MB`` (10^6), ``1.5GiB`` (2^30), ``512m`` (docker's binary letters), or plain bytes."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a string like 512MB")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative ({value})")
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", value.strip())
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"invalid size {value!r}: use bytes or a unit, e.g. 512MB, 1GB, 1.5GiB")
    return int(Decimal(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


_RAM_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
RAM_PATTERN = r"^\d+(\.\d+)?\s?([kKmMgGtTpP]?[iI]?[bB]?)$"


def parse_ram(value: int | str) -> int:
    """A size as docker and compose read one (go-units' RAMInBytes): every unit binary, any case,
    with or without i and b: ``128mb`` = ``128M`` = ``128MiB`` = 134217728, or plain bytes."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a string like 512m")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative ({value})")
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?) ?([kKmMgGtTpP]?)[iI]?[bB]?", value.strip())
    if not match or (not match.group(2) and re.search(r"[iI]", value)):
        raise ValueError(f"invalid size {value!r}: use bytes or a unit, e.g. 512m, 128mb, 1g (docker's units, powers of 1024)")
    return int(Decimal(match.group(1)) * _RAM_UNITS[match.group(2).lower()])


def parse_decimal(value: object) -> Decimal:
    """Money and hours: a YAML number or numeric string, kept exact (1.36 stays 1.36)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


# --- EC2 and S3 names --------------------------------------------------------------------------

INSTANCE_TYPE_PATTERN = (
    r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\."
    r"(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$"
)


@dataclass(frozen=True)
class InstanceType:
    family: str  # c7i
    size: str  # 8xlarge

    def __str__(self) -> str:
        return f"{self.family}.{self.size}"


def parse_instance_type(text: str) -> InstanceType:
    """``c7i.8xlarge`` → InstanceType("c7i", "8xlarge"); ``c7i-8xlarge`` is refused with a hint."""
    if re.fullmatch(INSTANCE_TYPE_PATTERN, text) and any(ch.isdigit() for ch in text.split(".")[0]):
        family, size = text.split(".", 1)
        return InstanceType(family, size)
    hint = ""
    fixed = re.sub(r"-(nano|micro|small|medium|large|[0-9]*xlarge|metal)$", r".\1", text.lower())
    if fixed != text and re.fullmatch(INSTANCE_TYPE_PATTERN, fixed):
        hint = f" (did you mean {fixed!r}?)"
    raise ValueError(f"invalid EC2 instance type {text!r}: expected FAMILY.SIZE, e.g. c7i.8xlarge{hint}")


AMI_PATTERN = r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$"
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$"

_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> str:
    """AWS's general-purpose bucket naming rules; returns the name or raises with the broken rule."""
    if not 3 <= len(name) <= 63:
        raise ValueError(f"invalid S3 bucket name {name!r}: must be 3 to 63 characters long (is {len(name)})")
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        raise ValueError(f"invalid S3 bucket name {name!r}: only lowercase letters, digits, '.' and '-' are allowed")
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise ValueError(f"invalid S3 bucket name {name!r}: must begin and end with a letter or digit")
    if ".." in name or ".-" in name or "-." in name:
        raise ValueError(f"invalid S3 bucket name {name!r}: no '..', '.-' or '-.'")
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise ValueError(f"invalid S3 bucket name {name!r}: must not look like an IP address")
    for prefix in _RESERVED_BUCKET_PREFIXES:
        if name.startswith(prefix):
            raise ValueError(f"invalid S3 bucket name {name!r}: the prefix {prefix!r} is reserved by AWS")
    for suffix in _RESERVED_BUCKET_SUFFIXES:
        if name.endswith(suffix):
            raise ValueError(f"invalid S3 bucket name {name!r}: the suffix {suffix!r} is reserved by AWS")
    return name


# --- compose ports and volumes -----------------------------------------------------------------

PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class PortMapping:
    """One published port (a range is expanded by the caller if needed). A host range onto one
    container port (``8100-8101:80``) lets the engine choose one host port of the range."""

    container_start: int
    container_end: int
    host_start: int | None = None  # None: let the engine choose
    host_end: int | None = None
    host_ip: str | None = None
    protocol: str = "tcp"

    def host_port(self, offset: int) -> str | None:
        """The host port of the container port ``container_start + offset``, as the engine takes
        it: one port, a range to choose from (onto one container port), or None (any)."""
        if self.host_start is None or self.host_end is None:
            return None
        if self.host_start == self.host_end:
            return str(self.host_start)
        if self.container_start == self.container_end:
            return f"{self.host_start}-{self.host_end}"
        return str(self.host_start + offset)

    def __str__(self) -> str:
        def span(start: int, end: int) -> str:
            return str(start) if start == end else f"{start}-{end}"

        text = span(self.container_start, self.container_end)
        if self.host_start is not None and self.host_end is not None:
            text = f"{span(self.host_start, self.host_end)}:{text}"
        if self.host_ip:
            ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
            text = f"{ip}:{text}" if self.host_start is not None else f"{ip}::{text}"
        return text if self.protocol == "tcp" else f"{text}/{self.protocol}"


def _port_span(text: str, what: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    if not match:
        raise ValueError(f"invalid {what} port {text!r}")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    for port in (start, end):
        if not 1 <= port <= 65535:
            raise ValueError(f"{what} port {port} is out of range 1-65535")
    if end < start:
        raise ValueError(f"{what} port range {text!r} ends before it starts")
    return start, end


def parse_port(value: int | str) -> PortMapping:
    """Compose short syntax: ``80``, ``8080:80``, ``127.0.0.1:9121:9121``, ``[::1]:80:80/udp``,
    ``8000-8010:8000-8010``, ``127.0.0.1::80`` (any host port)."""
    if isinstance(value, bool):
        raise ValueError("a port must be a number or a string like 127.0.0.1:8080:80")
    if isinstance(value, int):
        return PortMapping(*_port_span(str(value), "container"))
    text, protocol = value, "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
        if protocol not in PROTOCOLS:
            raise ValueError(f"invalid protocol {protocol!r} in port {value!r}: expected tcp, udp or sctp")
    host_ip = None
    if text.startswith("["):
        ip_text, sep, text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"invalid port {value!r}: an IPv6 address is written [::1]:HOST:CONTAINER")
        host_ip = ip_text
    parts = text.split(":")
    if host_ip is None and len(parts) == 3:
        host_ip, parts = parts[0] or None, parts[1:]  # an empty IP ("${HOST_IP:-}:80:80") is none, as in compose
        if host_ip is None and not parts[0]:
            raise ValueError(f"invalid port {value!r}: empty host port")
    if host_ip is not None:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise ValueError(f"invalid IP address {host_ip!r} in port {value!r}") from None
    if len(parts) > 2 or (host_ip is not None and len(parts) != 2):
        raise ValueError(f"invalid port {value!r}: expected [IP:]HOST:CONTAINER[/PROTOCOL]")
    container = _port_span(parts[-1], "container")
    host: tuple[int, int] | tuple[None, None] = (None, None)
    if len(parts) == 2 and parts[0]:
        host = _port_span(parts[0], "host")
        if host[1] - host[0] != container[1] - container[0] and host[0] != host[1] and container[0] != container[1]:
            raise ValueError(f"invalid port {value!r}: the host and container ranges differ in length")
    elif len(parts) == 2 and host_ip is None:
        raise ValueError(f"invalid port {value!r}: empty host port")
    return PortMapping(container[0], container[1], host[0], host[1], host_ip, protocol)


VOLUME_NAME_PATTERN = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"


@dataclass(frozen=True)
class VolumeMount:
    source: str  # a named volume, or an absolute host path
    target: str
    read_only: bool = False
    selinux: str = ""  # z (shared) or Z (private): the engine relabels the source for SELinux

    @property
    def is_bind(self) -> bool:
        return self.source.startswith("/")

    @property
    def options(self) -> list[str]:
        return [*(["ro"] if self.read_only else []), *([self.selinux] if self.selinux else [])]

    def __str__(self) -> str:
        return f"{self.source}:{self.target}" + (f":{','.join(self.options)}" if self.options else "")


def parse_volume(text: str) -> VolumeMount:
    """``NAME:/path[:ro]`` or ``/host/path:/path[:ro|rw][,z|Z]``."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"invalid volume {text!r}: expected NAME:PATH[:ro] or /HOST/PATH:PATH[:ro|rw]")
    source, target = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else ["rw"]
    labels = [m for m in modes if m in ("z", "Z")]
    modes = [m for m in modes if m not in ("z", "Z")] or ["rw"]
    mode = modes[0]
    if len(modes) > 1 or len(labels) > 1 or mode not in ("ro", "rw"):
        raise ValueError(f"invalid volume mode {parts[2]!r} in {text!r}: expected ro or rw, and z or Z for SELinux")
    if source.startswith("."):
        raise ValueError(f"invalid volume {text!r}: a host path must be absolute (relative paths depend on where reconcile runs)")
    if not source.startswith("/") and not re.fullmatch(VOLUME_NAME_PATTERN, source):
        raise ValueError(f"invalid volume name {source!r} in {text!r}")
    if not target.startswith("/"):
        raise ValueError(f"invalid volume {text!r}: the container path {target!r} must be absolute")
    return VolumeMount(source, target, mode == "ro", labels[0] if labels else "")


# --- addresses ---------------------------------------------------------------------------------

ADDRESS_TYPES = ("network", "proxy", "container", "disk_budget", "ec2_instance", "s3_bucket", "cost_doc")


@dataclass(frozen=True, order=True)
class Address:
    """``container.NAME``, ``disk_budget.NAME``, ``ec2_instance.NAME``, ``s3_bucket.NAME``, ``cost_doc.PATH``."""

    type: str
    name: str

    def __str__(self) -> str:
        return f"{self.type}.{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        kind, dot, name = text.partition(".")
        if not dot or not name or kind not in ADDRESS_TYPES:
            raise ValueError(f"invalid address {text!r}: expected one of {', '.join(t + '.NAME' for t in ADDRESS_TYPES)}")
        return cls(kind, name)
