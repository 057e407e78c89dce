"""Field types of the desired-state format: each parses its YAML form into a typed value, says what
is wrong in words a user understands, and describes itself in the JSON Schema."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from reconciler import units
from reconciler.model.interpolate import split_assignment
from reconciler.model.sensitive import Sensitive
from reconciler.model.unknown import Unknown

T = TypeVar("T")

SECRET_FIELDS = "containers.*.environment, command, entrypoint, healthcheck.test, hosts.*.docker and hosts.*.tls"
VARIABLE_PATTERN = r"^[_A-Za-z][_A-Za-z0-9]*$"


def _variable_names(value: object) -> list[str]:
    value = _plain(value, "a list")
    if not isinstance(value, list):
        raise ValueError(f"expected a list of variable names, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not re.fullmatch(VARIABLE_PATTERN, item):
            raise SubpathError(f"invalid variable name {item!r}: letters, digits and _, not starting with a digit", index)
    return list(value)


class SubpathError(ValueError):
    """A ValueError about one item inside the field (a list index or a mapping key)."""

    def __init__(self, message: str, *subpath: str | int) -> None:
        super().__init__(message)
        self.subpath = subpath


def _plain(value: object, expected: str) -> Any:
    if isinstance(value, Sensitive):
        raise ValueError(f"this value uses a secret (settings.secrets); a secret is only allowed in {SECRET_FIELDS}")
    if isinstance(value, Unknown):
        raise ValueError(f"{', '.join(value.variables)} not set: this value must be known at plan")
    if isinstance(value, bool) and expected != "boolean":
        raise ValueError(f"expected {expected}, got a boolean")
    return value


def _text(value: object, what: str = "a string") -> str:
    value = _plain(value, what)
    if not isinstance(value, str):
        raise ValueError(f"expected {what}, got {type(value).__name__} {value!r}")
    return value


def _checked(parse: Callable[[Any], T], schema: dict[str, Any], serialize: Callable[[T], Any] | None = None) -> Any:
    """An Annotated type whose YAML form is parsed by ``parse``."""
    extras: list[Any] = [PlainValidator(parse), WithJsonSchema(schema)]
    if serialize is not None:
        extras.append(PlainSerializer(serialize))
    return extras


VariableNames = Annotated[
    list[str], *_checked(_variable_names, {"type": "array", "items": {"type": "string", "pattern": VARIABLE_PATTERN}})
]

# --- scalars -------------------------------------------------------------------------------------

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _name(value: object) -> str:
    text = _text(value, "a name")
    if not re.fullmatch(NAME_PATTERN, text) or len(text) > 128:
        raise ValueError(f"invalid name {text!r}: use letters, digits, '_', '.' and '-', starting with a letter or digit")
    return text


Name = Annotated[str, *_checked(_name, {"type": "string", "pattern": NAME_PATTERN})]


def _duration(value: object) -> timedelta:
    value = _plain(value, "a duration")
    if isinstance(value, (int, float)):
        raise ValueError(f"a duration needs a unit: write {value}s (or us, ms, m, h, d)")
    return units.parse_duration(_text(value, "a duration like 30s"))


Duration = Annotated[
    timedelta,
    *_checked(
        _duration,
        {"type": "string", "pattern": units.DURATION_PATTERN, "description": "compose duration: 500ms, 10s, 1m30s, 2h, 30d"},
        units.format_duration,
    ),
]


def _size(value: object) -> int:
    value = _plain(value, "a size")
    if not isinstance(value, (int, str)):
        raise ValueError(f"expected a size like 512MB, got {value!r}")
    return units.parse_size(value)


Size = Annotated[
    int,
    *_checked(
        _size,
        {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": units.SIZE_PATTERN}],
            "description": "bytes, or a size: 512MB, 1GB (powers of 1000), 1.5GiB (powers of 1024), 512m (docker: 1024)",
        },
    ),
]


def _memory_size(value: object) -> int:
    value = _plain(value, "a size")
    if not isinstance(value, (int, str)):
        raise ValueError(f"expected a size like 512m, got {value!r}")
    return units.parse_ram(value)


MemorySize = Annotated[
    int,
    *_checked(
        _memory_size,
        {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": units.RAM_PATTERN}],
            "description": "bytes, or a size in docker's units (all powers of 1024, any case): 512m, 128mb, 1g, 1.5GiB",
        },
    ),
]
"""A size in a compose field (mem_limit, shm_size, …), read as compose and the Docker CLI read it."""


def _money(value: object) -> Decimal:
    number = units.parse_decimal(_plain(value, "a number"))
    if number < 0:
        raise ValueError(f"must not be negative, got {value}")
    return number


NonNegativeDecimal = Annotated[Decimal, *_checked(_money, {"type": "number", "minimum": 0}, str)]


def _int_in(low: int, high: int | None) -> Callable[[object], int]:
    def check(value: object) -> int:
        value = _plain(value, "an integer")
        if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
            value = int(value)  # a value from a variable is a string: typed by the field, as compose does
        if not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}, got {value}" if high else f"must be at least {low}, got {value}")
        return value

    return check


def int_in(low: int, high: int | None = None) -> Any:
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return Annotated[int, *_checked(_int_in(low, high), schema)]


Percent = int_in(1, 100)
NonNegativeInt = int_in(0)
PositiveInt = int_in(1)


def _positive_float(value: object) -> float:
    value = _plain(value, "a number")
    if isinstance(value, str) and re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", value.strip()):
        value = float(value)  # a value from a variable (or compose's quoted "0.5") is a string
    if not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"expected a number above 0, got {value!r}")
    return float(value)


PositiveFloat = Annotated[float, *_checked(_positive_float, {"type": "number", "exclusiveMinimum": 0})]


def _bool(value: object) -> bool:
    if isinstance(value, (Sensitive, Unknown)):
        _plain(value, "boolean")
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]  # a value from a variable, typed as compose types it
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


_BOOLEAN_WORDS = {"true": True, "yes": True, "y": True, "on": True, "false": False, "no": False, "n": False, "off": False}


Bool = Annotated[bool, *_checked(_bool, {"type": "boolean"})]


def _string(value: object) -> str:
    return _text(value)


String = Annotated[str, *_checked(_string, {"type": "string"})]


def _pattern(pattern: str, what: str, example: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = _text(value, what)
        if not re.fullmatch(pattern, text):
            raise ValueError(f"invalid {what} {text!r}: expected something like {example}")
        return text

    return check


# Docker's reference grammar (github.com/distribution/reference, regexp.go), as the engine checks it:
# a name of lowercase path components, at most 255 characters once normalised (docker.io/library/…),
# after an optional registry host[:port]; a tag; a digest of an algorithm the engine knows.
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_IMAGE_NAME = rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}"
IMAGE_REFERENCE_PATTERN = rf"{_IMAGE_NAME}(?::{_TAG})?(?:@(?:{_DIGEST}))?"


def _normalised_name(domain: str | None, path: str) -> str | None:
    """The name as the engine measures it: docker.io/library/NAME when no registry is written (a
    first component is a registry when it has a '.' or ':', or is localhost, as Docker decides);
    None when the first component is neither a registry nor a lowercase path component."""
    if domain is not None and ("." in domain or ":" in domain or domain == "localhost"):
        return f"{domain}/{path}"
    if domain is not None and domain != domain.lower():
        return None
    path = path if domain is None else f"{domain}/{path}"
    return f"docker.io/{path}" if "/" in path else f"docker.io/library/{path}"


def _image_reference(value: object) -> str:
    text = _text(value, "an image reference")
    matched = re.fullmatch(IMAGE_REFERENCE_PATTERN, text)
    name = matched and _normalised_name(matched.group("domain"), matched.group("path"))
    if not name or len(name) > 255:
        raise ValueError(
            f"invalid image reference {text!r}: expected [REGISTRY[:PORT]/]NAME[:TAG][@DIGEST], the name in "
            "lowercase, at most 255 characters (e.g. reconciler-demo/frontend:1)"
        )
    return text


ImageReference = Annotated[str, *_checked(_image_reference, {"type": "string"})]


Region = Annotated[
    str, *_checked(_pattern(units.REGION_PATTERN, "AWS region", "us-east-1"), {"type": "string", "pattern": units.REGION_PATTERN})
]
AmiId = Annotated[
    str,
    *_checked(_pattern(units.AMI_PATTERN, "AMI id", "ami-0123456789abcdef0"), {"type": "string", "pattern": units.AMI_PATTERN}),
]
SUBNET_PATTERN = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
SubnetId = Annotated[
    str,
    *_checked(_pattern(SUBNET_PATTERN, "subnet id", "subnet-0123456789abcdef0"), {"type": "string", "pattern": SUBNET_PATTERN}),
]
SG_PATTERN = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
SecurityGroupId = Annotated[
    str, *_checked(_pattern(SG_PATTERN, "security group id", "sg-0123456789abcdef0"), {"type": "string", "pattern": SG_PATTERN})
]


def _instance_type(value: object) -> str:
    return str(units.parse_instance_type(_text(value, "an instance type")))


InstanceTypeName = Annotated[str, *_checked(_instance_type, {"type": "string", "pattern": units.INSTANCE_TYPE_PATTERN})]


def _bucket_name(value: object) -> str:
    return units.check_bucket_name(_text(value, "a bucket name"))


BucketName = Annotated[
    str, *_checked(_bucket_name, {"type": "string", "minLength": 3, "maxLength": 63, "pattern": r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$"})
]


def _aware_datetime(value: object) -> datetime:
    text = _text(value, "an ISO-8601 timestamp")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid timestamp {text!r}: expected ISO-8601 with a zone, e.g. 2025-11-17T00:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone: add Z or +00:00")
    return moment


AwareDatetime = Annotated[
    datetime,
    *_checked(
        _aware_datetime, {"type": "string", "format": "date-time"}, lambda moment: moment.isoformat().replace("+00:00", "Z")
    ),
]


def _relative_path(value: object) -> str:
    text = _text(value, "a path")
    if not text or text.startswith("/") or ".." in text.split("/"):
        raise ValueError(f"invalid path {text!r}: must be relative and stay inside the repository (no leading '/', no '..')")
    return text


RelativePath = Annotated[str, *_checked(_relative_path, {"type": "string"})]


def _absolute_path(value: object) -> str:
    text = _text(value, "a path")
    if not text.startswith("/"):
        raise ValueError(f"invalid path {text!r}: must be absolute")
    return text


AbsolutePath = Annotated[str, *_checked(_absolute_path, {"type": "string", "pattern": "^/"})]


# --- values that may come from the environment ----------------------------------------------------


def _secret_text(value: object) -> str | Sensitive:
    if isinstance(value, Sensitive):
        return value
    return _text(value)


def _show(value: str | Sensitive | Unknown) -> str:
    return str(value) if isinstance(value, (Sensitive, Unknown)) else value


SecretText = Annotated[str | Sensitive, *_checked(_secret_text, {"type": "string"}, _show)]


def _scalar_text(value: object, where: str) -> str | Sensitive | Unknown:
    """Compose turns numbers and booleans in environment and labels into strings; so do we."""
    if isinstance(value, (str, Sensitive, Unknown)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise ValueError(f"{where}: expected a string, number or boolean, got {type(value).__name__}")


def _key_value_mapping(value: object, what: str, allow_secret: bool) -> dict[str, str | Sensitive | Unknown]:
    """A mapping, or compose's list of ``KEY=VALUE`` strings."""
    value = _plain(value, "a mapping")
    if isinstance(value, list):
        mapping: dict[str, str | Sensitive | Unknown] = {}
        for index, item in enumerate(value):
            split = split_assignment(item) if isinstance(item, (str, Sensitive, Unknown)) else None
            if split is None and isinstance(item, (Sensitive, Unknown)):
                raise SubpathError(f"write the key in the clear: KEY=${{VAR}}, not ${{VAR}} as a whole {what} item", index)
            if split is None:
                raise SubpathError(
                    f"expected KEY=VALUE, got {item!r}"
                    + (f"; to pass {item}, write {item}=${{{item}}}" if isinstance(item, str) else ""),
                    index,
                )
            key, text = split
            if key in mapping:
                raise SubpathError(f"{key!r} is set twice", index)
            mapping[key] = text
        value = mapping
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping or a list of KEY=VALUE, got {type(value).__name__}")
    result: dict[str, str | Sensitive | Unknown] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise SubpathError(f"invalid {what} name {key!r}", str(key))
        if item is None:
            raise SubpathError(f"{key} has no value; to take it from the environment write {key}: ${{{key}}}", key)
        if isinstance(item, (Sensitive, Unknown)) and not allow_secret:
            try:
                _plain(item, "a string")
            except ValueError as error:
                raise SubpathError(str(error), key) from None
        try:
            result[key] = _scalar_text(item, key)
        except ValueError as error:
            raise SubpathError(str(error), key) from None
    return result


def _environment(value: object) -> dict[str, str | Sensitive | Unknown]:
    return _key_value_mapping(value, "environment", allow_secret=True)


def _show_mapping(mapping: dict[str, str | Sensitive | Unknown]) -> dict[str, str]:
    return {key: _show(item) for key, item in mapping.items()}


KEY_VALUE_SCHEMA = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"}},
    ]
}
Environment = Annotated[dict[str, str | Sensitive | Unknown], *_checked(_environment, KEY_VALUE_SCHEMA, _show_mapping)]


def _labels(value: object) -> dict[str, str]:
    labels = _key_value_mapping(value, "label", allow_secret=False)
    for key in labels:
        if key.startswith("reconciler."):
            raise SubpathError(f"label {key!r}: the prefix 'reconciler.' is reserved for reconcile's own labels", key)
    return {key: str(item) for key, item in labels.items()}


Labels = Annotated[dict[str, str], *_checked(_labels, KEY_VALUE_SCHEMA)]


def _tags(value: object) -> dict[str, str]:
    tags = _key_value_mapping(_plain(value, "a mapping"), "tag", allow_secret=False)
    for key in tags:
        if key.startswith(("reconciler:", "aws:")):
            raise SubpathError(f"tag {key!r}: the prefixes 'reconciler:' and 'aws:' are reserved", key)
    return {key: str(item) for key, item in tags.items()}


Tags = Annotated[dict[str, str], *_checked(_tags, {"type": "object", "additionalProperties": {"type": "string"}})]


def _command(value: object) -> tuple[str | Sensitive | Unknown, ...]:
    """A list of arguments, or a string split like a shell would (compose does the same)."""
    if isinstance(value, Unknown):
        return (value,)  # its words are known at apply
    if isinstance(value, Sensitive):
        return tuple(Sensitive(part) for part in shlex.split(value.reveal()))
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as error:
            raise ValueError(f"cannot split command {value!r}: {error}") from None
    if not isinstance(value, list):
        raise ValueError(f"expected a list of arguments or a string, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, (str, Sensitive, Unknown)):
            raise SubpathError(f"expected a string argument, got {item!r}", index)
    return tuple(value)


Command = Annotated[
    tuple[str | Sensitive | Unknown, ...],
    *_checked(
        _command,
        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        lambda argv: [_show(arg) for arg in argv],
    ),
]

HEALTHCHECK_KINDS = ("CMD", "CMD-SHELL", "NONE")


def _healthcheck_test(value: object) -> tuple[str | Sensitive | Unknown, ...]:
    """``["CMD", prog, args…]``, ``["CMD-SHELL", "cmd"]``, a string (= CMD-SHELL), ``["NONE"]``."""
    if isinstance(value, (str, Sensitive, Unknown)):
        if isinstance(value, str) and not value.strip():
            raise ValueError('an empty healthcheck test: write a command, or ["NONE"] to disable the image\'s healthcheck')
        return ("CMD-SHELL", value)
    if not isinstance(value, list):
        raise ValueError(f"expected a list or a string, got {type(value).__name__}")
    if not value:
        raise ValueError('an empty healthcheck test: write ["CMD", …], ["CMD-SHELL", "…"], a string or ["NONE"]')
    for index, item in enumerate(value):
        if not isinstance(item, (str, Sensitive, Unknown)):
            raise SubpathError(f"expected a string, got {item!r}", index)
    kind = value[0]
    if kind not in HEALTHCHECK_KINDS:
        raise SubpathError(f"the first item must be CMD, CMD-SHELL or NONE, got {_show(kind)!r}", 0)
    if kind == "NONE" and len(value) != 1:
        raise SubpathError('["NONE"] takes no arguments', 1)
    if kind == "CMD" and len(value) < 2:
        raise ValueError('["CMD"] needs a program to run: ["CMD", "/bin/prog", "arg"]')
    if kind == "CMD-SHELL" and len(value) != 2:
        raise ValueError('["CMD-SHELL"] takes exactly one shell command string')
    return tuple(value)


HealthcheckTest = Annotated[
    tuple[str | Sensitive | Unknown, ...],
    *_checked(
        _healthcheck_test,
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "prefixItems": [{"enum": list(HEALTHCHECK_KINDS)}], "items": {"type": "string"}},
            ]
        },
        lambda argv: [_show(arg) for arg in argv],
    ),
]


# --- compose strings ---------------------------------------------------------------------------


def _restart(value: object) -> str:
    text = _text(value, "a restart policy")
    if text in ("no", "always", "unless-stopped", "on-failure") or re.fullmatch(r"on-failure:[0-9]+", text):
        return text
    raise ValueError(f"invalid restart policy {text!r}: expected no, always, unless-stopped or on-failure[:N]")


RESTART_PATTERN = r"^(no|always|unless-stopped|on-failure(:[0-9]+)?)$"
RestartPolicy = Annotated[str, *_checked(_restart, {"type": "string", "pattern": RESTART_PATTERN})]


def _network_mode(value: object) -> str:
    text = _text(value, "a network mode")
    if text in ("bridge", "host", "none") or re.fullmatch(r"container:" + NAME_PATTERN[1:], text):
        return text
    if re.fullmatch(r"service:" + NAME_PATTERN[1:], text):
        return "container:" + text.partition(":")[2]  # compose's service:NAME is the container declared as NAME
    raise ValueError(f"invalid network_mode {text!r}: expected bridge, host, none, container:NAME or service:NAME")


NETWORK_MODE_PATTERN = r"^(bridge|host|none|(container|service):[A-Za-z0-9][A-Za-z0-9_.-]*)$"
NetworkMode = Annotated[str, *_checked(_network_mode, {"type": "string", "pattern": NETWORK_MODE_PATTERN})]


def _user(value: object) -> str:
    value = _plain(value, "a user")
    if isinstance(value, int):
        return str(value)
    return _text(value, 'a user like "1000:1000"')


User = Annotated[str, *_checked(_user, {"type": ["string", "integer"]})]


def _signal(value: object) -> str:
    text = _text(value, "a signal")
    if re.fullmatch(r"SIG[A-Z0-9+-]+|[0-9]+", text):
        return text
    raise ValueError(f"invalid signal {text!r}: expected a name like SIGTERM")


Signal = Annotated[str, *_checked(_signal, {"type": "string", "pattern": r"^(SIG[A-Z0-9+-]+|[0-9]+)$"})]


def _log_options(value: object) -> dict[str, str]:
    options = _key_value_mapping(value, "logging option", allow_secret=False)
    for key in ("max-size",):
        if key in options:
            try:
                units.parse_size(str(options[key]))
            except ValueError as error:
                raise SubpathError(str(error), key) from None
    return {key: str(item) for key, item in options.items()}


LogOptions = Annotated[
    dict[str, str], *_checked(_log_options, {"type": "object", "additionalProperties": {"type": ["string", "number"]}})
]


def _docker_url(value: object) -> str | Sensitive:
    if isinstance(value, Sensitive):
        scheme = value.reveal().partition("://")[0]
        if scheme not in ("unix", "tcp", "ssh"):
            raise ValueError("the docker URL from the environment must start with unix://, tcp:// or ssh://")
        return value
    text = _text(value, "a docker URL")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("unix", "tcp", "ssh") or not rest:
        raise ValueError(f"unsupported docker URL {text!r}: expected unix:///path, tcp://host:port or ssh://user@host")
    return text


DockerUrl = Annotated[
    str | Sensitive,
    *_checked(_docker_url, {"type": "string", "pattern": r"^((unix|tcp|ssh)://.+|.*\$\{.+\}.*)$"}, _show),
]
