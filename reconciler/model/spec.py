"""The desired-state format: one pydantic model per section (SPEC §1). The JSON Schema that
`reconcile schema` prints is generated from these models; each field's docstring is its description
(read from this file by json_schema(), not at import: see _describe_fields)."""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
import typing
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from reconciler.model.compose_fields import (
    Attachment,
    Capabilities,
    Cpus,
    Devices,
    EnvFiles,
    Expose,
    ExtraHosts,
    Networks,
    Platform,
    Profiles,
    PullPolicy,
    Strings,
    Sysctls,
    Tmpfs,
    Ulimits,
    read_env_files,
    tmpfs_of_long_volume,
)
from reconciler.model.compose_fields import ConfigMounts as ConfigMounts
from reconciler.model.compose_fields import DependsOn as DependsOn
from reconciler.model.compose_fields import Ports as Ports
from reconciler.model.compose_fields import SecretMounts as SecretMounts
from reconciler.model.compose_fields import Volumes as Volumes
from reconciler.model.fields import (
    VARIABLE_PATTERN,
    AbsolutePath,
    AmiId,
    AwareDatetime,
    Bool,
    BucketName,
    Command,
    DockerUrl,
    Duration,
    Environment,
    HealthcheckTest,
    ImageReference,
    InstanceTypeName,
    Labels,
    LogOptions,
    MemorySize,
    Name,
    NetworkMode,
    NonNegativeDecimal,
    NonNegativeInt,
    Percent,
    PositiveFloat,
    PositiveInt,
    Region,
    RelativePath,
    RestartPolicy,
    SecretText,
    SecurityGroupId,
    Signal,
    Size,
    String,
    SubnetId,
    SubpathError,
    Tags,
    User,
    VariableNames,
    int_in,
)
from reconciler.model.interpolate import admit_variables, refuse_ci_variable
from reconciler.model.proxy import Proxy, ProxyRoute, check_route
from reconciler.model.sensitive import Sensitive
from reconciler.model.suggest import did_you_mean
from reconciler.model.unknown import Unknown
from reconciler.units import check_bucket_name, format_duration, parse_duration

SECTIONS = (
    "version", "settings", "hosts", "networks", "volumes", "configs", "secrets", "proxies", "containers",
    "disk_budgets", "aws",
    "ec2_instances", "s3_buckets", "prices", "cost_docs", "policies",
)  # fmt: skip
IMPLICIT_HOST = "local"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)


# --- settings, hosts ------------------------------------------------------------------------------


def _lock(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected s3://BUCKET/KEY or a file path")
    if value.startswith("s3://"):
        bucket, _, key = value[5:].partition("/")
        check_bucket_name(bucket)
        if not key:
            raise ValueError(f"invalid lock {value!r}: expected s3://BUCKET/KEY")
    return value


def _backend(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("s3://"):
        raise ValueError("expected s3://BUCKET/PREFIX (omit settings.backend to keep the records in the state directory)")
    check_bucket_name(value[5:].partition("/")[0])
    return value


STATE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
DEFAULT_STATE_NAME = "default"


def _state_name(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(STATE_NAME_PATTERN, value):
        raise ValueError(
            f"invalid state name {value!r}: use lowercase letters, digits and '-', starting with a letter or digit "
            "(at most 63), like a compose project name"
        )
    return value


class Settings(Section):
    name: Annotated[str, PlainValidator(_state_name), WithJsonSchema({"type": "string", "pattern": STATE_NAME_PATTERN})] = (
        DEFAULT_STATE_NAME
    )
    """This state's name, like a compose project name: apply stamps it on everything it creates (label
    reconciler.state, tag reconciler:state), and a state sees, changes and deletes only what carries its name."""
    policy_mode: Literal["enforce", "warn"] = "enforce"
    """enforce: a finding of severity error fails `plan`; warn: findings are shown, never fatal."""
    lock: Annotated[str, PlainValidator(_lock), WithJsonSchema({"type": "string"})] | None = None
    """Where apply takes its lock: s3://BUCKET/KEY, or a file (default DIR/.reconcile.lock)."""
    parallelism: PositiveInt = 10
    """Default for --parallelism: how many independent steps run at once."""
    backend: Annotated[str, PlainValidator(_backend), WithJsonSchema({"type": "string"})] | None = None
    """Where the lock and the records (adoptions, restarts, journal, …) live: s3://BUCKET/PREFIX; default DIR/.reconcile.*"""

    secrets: VariableNames = []
    """Variables whose values are secret: a value that uses one shows as (sensitive) in every output, and
    plan needs none of them (what uses one is known at apply). A variable whose name says secret
    (*PASSWORD*, *PASSPHRASE*, *SECRET*, *TOKEN*, *CREDENTIAL*, *PRIVATE*, *ACCESS_KEY*, *_KEY) is one
    too unless `plain` lists it."""
    plain: VariableNames = []
    """Variables whose names say secret (DB_PASSWORD_POLICY, SORT_KEY) but whose values are not: shown
    in the plan like any plain variable. A name apply's environment calls an application secret stays one."""
    profiles: Profiles = ()
    """Compose profiles that are active: a container with profiles: runs only when one of them is
    listed here (otherwise it is treated as state: absent)."""

    @model_validator(mode="after")
    def _one_lock(self) -> Self:
        if self.backend is not None and self.lock is not None:
            raise SubpathError(
                f"settings.lock and settings.backend both name a lock: with a backend the lock lives in it "
                f"({self.backend.rstrip('/')}/lock); remove settings.lock",
                "lock",
            )
        return self


class Tls(Section):
    ca: SecretText
    """CA certificate: a path, or ${VAR} holding PEM text (sensitive)."""
    cert: SecretText
    """Client certificate: a path, or ${VAR} holding PEM text (sensitive)."""
    key: SecretText
    """Client key: a path, or ${VAR} holding PEM text (sensitive)."""


class Host(Section):
    docker: DockerUrl | None = None
    """unix:///var/run/docker.sock, tcp://host:2376 (with tls) or ssh://user@host; omitted: DOCKER_HOST, else the local socket."""
    monthly_cost: NonNegativeDecimal | None = None
    """Flat monthly fee in USD, for the cost docs."""
    tls: Tls | None = None
    """TLS client certificates for a tcp:// host."""
    identity_file: String | None = None
    """SSH private key for an ssh:// host (default: the SSH agent and ~/.ssh/config)."""

    @model_validator(mode="after")
    def _transport_options(self) -> Self:
        url = self.docker if isinstance(self.docker, str) else (self.docker.reveal() if self.docker else "")
        if self.tls is not None and not url.startswith("tcp://"):
            raise SubpathError("tls applies only to a tcp:// docker URL", "tls")
        if self.identity_file is not None and not url.startswith("ssh://"):
            raise SubpathError("identity_file applies only to an ssh:// docker URL", "identity_file")
        return self


# --- networks and volumes ---------------------------------------------------------------------------


class Network(Section):
    """A user-defined Docker network (compose's top-level networks:), owned by reconcile unless external."""

    host: Name | None = None
    """The host (under hosts:) it lives on; defaults to the only host."""
    driver: String = "bridge"
    driver_opts: dict[str, String] = {}
    internal: Bool = False
    """No route out of the network."""
    attachable: Bool = False
    enable_ipv6: Bool = False
    labels: Labels = {}
    external: Bool = False
    """Made outside reconcile: it must exist; reconcile never changes or deletes it."""


class NamedVolume(Section):
    """A named volume (compose's top-level volumes:) that containers mount by its name: reconcile
    creates it with its driver, options and labels, labelled as this state's, before the containers
    that mount it, and removes it only once it is no longer declared and no container uses it."""

    host: Name | None = None
    """The host (under hosts:) it lives on; defaults to the only host."""
    driver: String = "local"
    """The volume driver (the engine's default: local)."""
    driver_opts: dict[str, String] = {}
    """The driver's options (local: type, device, o — e.g. a tmpfs of a given size)."""
    labels: Labels = {}
    external: Bool = False
    """Made outside reconcile: it must exist; reconcile never changes or deletes it."""
    name: Name | None = None
    """The engine's name for it: its key (reconcile adds no project prefix, so compose's ``name:``
    may only repeat the key; see model/refs.py)."""


def _from_environment(value: object) -> str | Sensitive | Unknown:
    if isinstance(value, (str, Sensitive, Unknown)):
        return value
    raise ValueError(f"expected a string, got {type(value).__name__}")


EnvironmentValue = Annotated[
    str | Sensitive | Unknown, PlainValidator(_from_environment), PlainSerializer(lambda v: str(v)), SkipJsonSchema()
]


def _variable_name(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(VARIABLE_PATTERN, value):
        raise ValueError(f"expected a variable's name (letters, digits, _), got {value!r}")
    refuse_ci_variable(value)
    return value


VariableName = Annotated[str, PlainValidator(_variable_name), WithJsonSchema({"type": "string", "pattern": VARIABLE_PATTERN})]


class ConfigSource(Section):
    """A config file (compose's top-level configs:): its content travels to each container that
    mounts it through the Engine API, so it needs no file on the host."""

    file: String | None = None
    """A file in the repository, relative to the file that declares it; read at plan and at apply."""
    content: String | None = None
    """The content itself, written in the state (variables work; a secret is not allowed here)."""
    environment: VariableName | None = None
    """A variable whose value is the content (from the environment, or DIR/.env), as compose reads it."""
    environment_value: SkipJsonSchema[EnvironmentValue | None] = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [key for key in ("file", "content", "environment") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"a config takes exactly one of file:, content: or environment:, not {' and '.join(given)}")
        if not given:  # worded so that a value a variable left out is not reported twice
            raise ValueError("missing required key 'content' (or give file: or environment:)")
        if isinstance(self.environment_value, Sensitive):
            raise ValueError(f"environment: {self.environment} is a secret: declare it under the top-level secrets:")
        return self


class AwsSsmParameter(Section):
    """An SSM Parameter Store parameter (a SecureString), by name or ARN."""

    name: String
    region: Region | None = None
    """Default: the ARN's region, else aws.region."""


class AwsSecretsManagerSecret(Section):
    """A Secrets Manager secret, by name or ARN; with key:, one key of its JSON value."""

    id: String
    key: String | None = None
    region: Region | None = None
    """Default: the ARN's region, else aws.region."""


class SecretSource(Section):
    """A secret (compose's top-level secrets:): a file (file:), a variable (environment:), or an AWS
    secret store (aws_ssm:, aws_secretsmanager:). Its value travels to each container that mounts it
    through the Engine API (at /run/secrets/NAME by default); it is never shown, hashed or labelled,
    and an AWS secret's value is read only by apply."""

    file: String | None = None
    """A file in the repository (git-ignored, written by the CI job), relative to the declaring file."""
    environment: VariableName | None = None
    """A variable whose value is the secret (from the environment, or DIR/.env); known at apply when plan lacks it."""
    aws_ssm: AwsSsmParameter | None = None
    """NAME or {name, region}: the plan reads its version, apply its value (decrypted)."""
    aws_secretsmanager: AwsSecretsManagerSecret | None = None
    """ID or {id, key, region}: the plan reads the version AWSCURRENT names, apply its value."""
    environment_value: SkipJsonSchema[EnvironmentValue | None] = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("aws_ssm"), str):
                data["aws_ssm"] = {"name": data["aws_ssm"]}
            if isinstance(data.get("aws_secretsmanager"), str):
                data["aws_secretsmanager"] = {"id": data["aws_secretsmanager"]}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        keys = ("file", "environment", "aws_ssm", "aws_secretsmanager")
        given = [key for key in keys if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"a secret takes exactly one of {', '.join(keys)}, not {' and '.join(given)}")
        if not given:
            raise ValueError("missing required key 'environment' (or give file:, aws_ssm: or aws_secretsmanager:)")
        return self


# --- containers -----------------------------------------------------------------------------------


class Healthcheck(Section):
    test: HealthcheckTest | None = None
    """["CMD", prog, args…], ["CMD-SHELL", "command"], a string (= CMD-SHELL), or ["NONE"]."""
    interval: Duration | None = None
    timeout: Duration | None = None
    retries: NonNegativeInt | None = None
    start_period: Duration | None = None
    start_interval: Duration | None = None
    disable: Bool = False
    """true: the same as test: ["NONE"]."""

    @model_validator(mode="after")
    def _disable_alone(self) -> Self:
        if self.disable and self.test is not None and self.test != ("NONE",):
            raise SubpathError("disable: true and a test contradict each other", "disable")
        return self


class Logging(Section):
    driver: String = "json-file"
    """Docker logging driver: json-file, local, journald, …"""
    options: LogOptions = {}
    """Driver options, e.g. {max-size: 10m, max-file: "3"}."""


class ResourceLimits(Section):
    cpus: Cpus | None = None
    memory: MemorySize | None = None
    pids: int_in(-1) | None = None  # type: ignore[valid-type]


class ResourceReservations(Section):
    cpus: Cpus | None = None
    """Accepted as compose does; the engine has no CPU reservation, so it sets nothing."""
    memory: MemorySize | None = None


class Resources(Section):
    limits: ResourceLimits | None = None
    reservations: ResourceReservations | None = None


class Deploy(Section):
    resources: Resources | None = None
    replicas: int_in(1, 1) | None = None  # type: ignore[valid-type]
    """Only 1: declare each copy as its own container."""


MEMORY_FIELDS = (("limits", "memory", "mem_limit"), ("limits", "cpus", "cpus"), ("limits", "pids", "pids_limit"),
                 ("reservations", "memory", "mem_reservation"))  # fmt: skip


EMPTY_IS_UNSET = ("container_name", "platform", "hostname", "domainname", "user", "working_dir", "stop_signal",
                  "network_mode", "restart", "pull_policy")  # fmt: skip


class Container(Section):
    host: Name | None = None
    """The host (under hosts:) to run on; defaults to the only host."""
    image: ImageReference
    """The image reference, e.g. reconciler-demo/frontend:1."""
    container_name: Name | None = None
    """The engine's name for the container; default: its key under containers:."""
    command: Command | None = None
    """Overrides the image's CMD: a list of arguments, or a string split like a shell would."""
    entrypoint: Command | None = None
    """Overrides the image's ENTRYPOINT."""
    environment: Environment = {}
    """A mapping or a KEY=VALUE list; values from ${VAR} are sensitive."""
    env_file: EnvFiles = ()
    """Files of KEY=VALUE lines (relative to the file that declares the container), read at load;
    environment: wins over them. Their values are sensitive."""
    ports: Ports = ()
    """Published ports: [IP:]HOST:CONTAINER[/PROTOCOL], or compose's long syntax {target, published, host_ip, protocol}."""
    expose: Expose = ()
    """Ports the container listens on without publishing them."""
    volumes: Volumes = ()
    """NAME:/path[:ro], /host/path:/path[:ro|rw], ./relative:/path (to the declaring file), or the long syntax."""
    configs: ConfigMounts = ()
    """Configs (top-level configs:) as files: NAME (at /NAME), or {source, target, uid, gid, mode}."""
    secrets: SecretMounts = ()
    """Secrets (top-level secrets:) as files: NAME (at /run/secrets/NAME), or {source, target, uid, gid, mode}."""
    restart: RestartPolicy = "no"
    """no | always | unless-stopped | on-failure[:N]."""
    depends_on: DependsOn = {}
    """Containers started (and healthy, if they have a healthcheck) before this one; the long form
    takes condition: service_started | service_healthy | service_completed_successfully, required, restart."""
    healthcheck: Healthcheck | None = None
    logging: Logging | None = None
    labels: Labels = {}
    network_mode: NetworkMode = "bridge"
    """bridge | host | none | container:NAME."""
    networks: Networks = {}
    """User-defined networks (declared under networks:) to attach to, with aliases."""
    hostname: String | None = None
    domainname: String | None = None
    extra_hosts: ExtraHosts = ()
    """HOST:IP lines added to /etc/hosts."""
    dns: Strings = ()
    dns_search: Strings = ()
    dns_opt: Strings = ()
    working_dir: AbsolutePath | None = None
    mem_limit: MemorySize | None = None
    mem_reservation: MemorySize | None = None
    memswap_limit: MemorySize | None = None
    cpus: PositiveFloat | None = None
    pids_limit: int_in(-1) | None = None  # type: ignore[valid-type]
    ulimits: Ulimits = {}
    shm_size: MemorySize | None = None
    deploy: Deploy | None = None
    """Only deploy.resources (limits: cpus, memory, pids; reservations: memory), as compose applies them."""
    user: User | None = None
    """user[:group], by name or number."""
    group_add: Strings = ()
    cap_add: Capabilities = ()
    cap_drop: Capabilities = ()
    privileged: Bool = False
    read_only: Bool = False
    """A read-only root filesystem."""
    security_opt: Strings = ()
    sysctls: Sysctls = {}
    devices: Devices = ()
    """/dev/HOST[:/dev/CONTAINER[:rwm]]."""
    tmpfs: Tmpfs = {}
    """/path or /path:OPTIONS (size=64m,mode=1777)."""
    tty: Bool = False
    stdin_open: Bool = False
    platform: Platform | None = None
    """OS/ARCH of the image to run, e.g. linux/amd64."""
    pull_policy: PullPolicy = "missing"
    """missing (default): pull when the image is not on the host; always: pull before each create; never."""
    profiles: Profiles = ()
    """Runs only when one of these is in settings.profiles."""
    init: Bool = False
    """Run a tiny init as PID 1, so that SIGTERM stops sleep-style commands."""
    stop_signal: Signal | None = None
    stop_grace_period: Duration | None = None
    """How long stop waits before SIGKILL (replace and delete use it)."""
    state: Literal["running", "stopped", "absent"] = "running"
    on_unhealthy: Literal["report", "restart"] = "report"
    """report: a finding; restart: apply restarts an unhealthy container."""
    unhealthy_restarts_per_hour: NonNegativeInt = 3
    """With on_unhealthy: restart, at most this many restarts an hour; past it the restart is blocked
    (a restart loop would hide a broken image)."""
    proxy: ProxyRoute | None = None
    """Served through a proxy (under proxies:) that publishes its port: replaced without downtime."""

    build: Annotated[object, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "object"}]})] = Field(
        default=None, exclude=True
    )
    """Accepted beside image: and never run (as `docker compose up --no-build`): the image is used, and a
    warning says to build it in CI, push it and pin its tag. Without image: it is an error."""

    @property
    def engine_name(self) -> str | None:
        """The name the engine knows it by, when it is not the container's key."""
        return self.container_name

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        """An empty string is an unset value in these fields, as compose reads them
        (``platform: ${DOCKER_PLATFORM:-}``)."""
        if isinstance(data, dict) and any(data.get(key) == "" for key in EMPTY_IS_UNSET):
            return {key: value for key, value in data.items() if not (key in EMPTY_IS_UNSET and value == "")}
        return data

    @model_validator(mode="before")
    @classmethod
    def _tmpfs_volumes(cls, data: Any) -> Any:
        """Compose's long-syntax `{type: tmpfs}` volumes are tmpfs mounts."""
        if not isinstance(data, dict) or not isinstance(data.get("volumes"), list):
            return data
        volumes = data["volumes"]
        moved = [v for v in volumes if isinstance(v, dict) and v.get("type") == "tmpfs"]
        if not moved:
            return data
        tmpfs = data.get("tmpfs") or []
        tmpfs = [tmpfs] if isinstance(tmpfs, str) else list(tmpfs) if isinstance(tmpfs, list) else tmpfs
        if not isinstance(tmpfs, list):
            return data
        try:
            extra = [tmpfs_of_long_volume(v) for v in moved]
        except ValueError:
            return data  # the volume's own check reports it
        return {**data, "volumes": [v for v in volumes if v not in moved], "tmpfs": tmpfs + extra}

    @model_validator(mode="after")
    def _compose_rules(self) -> Self:
        if self.ports and self.network_mode not in ("bridge", "host"):  # host: a warning (policies), as compose warns
            raise SubpathError(
                f"ports are never published with network_mode: {self.network_mode}; remove them or use bridge", "ports"
            )
        if self.networks and self.network_mode != "bridge":
            raise SubpathError(f"networks and network_mode: {self.network_mode} cannot be combined", "networks")
        if self.deploy and self.deploy.resources:
            resources = self.deploy.resources
            for group, key, field in MEMORY_FIELDS:
                value = getattr(getattr(resources, group) or ResourceLimits(), key, None)
                if value is None:
                    continue
                mine = getattr(self, field)
                if mine is not None and mine != value:
                    raise SubpathError(
                        f"{field} and deploy.resources.{group}.{key} differ; keep one of them", "deploy", "resources", group, key
                    )
                setattr(self, field, value)
        if self.env_file:
            try:
                values = read_env_files(self.env_file)
            except SubpathError as error:
                raise SubpathError(str(error), "env_file", *error.subpath) from None
            self.environment = {**values, **self.environment}
        if self.engine_name == "":
            raise SubpathError("container_name must not be empty", "container_name")
        check_route(self.proxy, self.ports, self.network_mode)
        if (self.configs or self.secrets) and self.read_only:
            raise SubpathError(
                f"{'configs' if self.configs else 'secrets'} cannot be written into a read_only container (the engine "
                "refuses an archive into a read-only root filesystem); drop read_only, or mount the file with volumes: "
                "on a local host",
                "configs" if self.configs else "secrets",
            )
        return self

    def with_profiles(self, active: tuple[str, ...]) -> None:
        """A container none of whose profiles is active is not wanted (state: absent)."""
        if self.profiles and not set(self.profiles) & set(active):
            self.state = "absent"


# --- disk budgets ---------------------------------------------------------------------------------

PRUNE_KINDS = ("build_cache", "dangling_images", "unused_images", "stopped_containers")


@dataclass(frozen=True)
class PruneStep:
    kind: str  # one of PRUNE_KINDS
    older_than: timedelta | None = None


def _prune_steps(value: object) -> list[PruneStep]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of prune steps, got {type(value).__name__}")
    steps: list[PruneStep] = []
    for index, item in enumerate(value):
        options: Any = {}
        if isinstance(item, dict) and len(item) == 1:
            kind, options = next(iter(item.items()))
            options = options or {}
        else:
            kind = item
        if kind not in PRUNE_KINDS:
            raise SubpathError(f"unknown prune step {kind!r}: expected one of {', '.join(PRUNE_KINDS)}", index)
        if any(step.kind == kind for step in steps):
            raise SubpathError(f"prune step {kind!r} is listed twice", index)
        if not isinstance(options, dict):
            raise SubpathError(f"{kind} takes {{older_than: DURATION}}, got {options!r}", index)
        for option in set(options) - {"older_than"}:
            raise SubpathError(
                f"{kind}: unknown option {option!r}{did_you_mean(option, ['older_than'])}; it takes only older_than", index
            )
        older_than = options.get("older_than")
        try:
            steps.append(PruneStep(kind, None if older_than is None else parse_duration(str(older_than))))
        except ValueError as error:
            raise SubpathError(f"{kind}: {error}", index) from None
    return steps


def _prune_steps_as_yaml(steps: list[PruneStep]) -> list[Any]:
    return [
        step.kind if step.older_than is None else {step.kind: {"older_than": format_duration(step.older_than)}} for step in steps
    ]


PRUNE_STEP_SCHEMA = {
    "type": "array",
    "items": {
        "anyOf": [
            {"enum": list(PRUNE_KINDS)},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"enum": list(PRUNE_KINDS)},
                "additionalProperties": {
                    "type": ["object", "null"],
                    "properties": {"older_than": {"type": "string"}},
                    "additionalProperties": False,
                },
            },
        ]
    },
}


class DiskBudget(Section):
    host: Name | None = None
    """The host whose filesystem this is; defaults to the only host."""
    path: AbsolutePath = "/"
    """A path on the filesystem to keep under budget."""
    max_used_percent: Percent
    """Used space, in percent of the filesystem, that must not be exceeded."""
    build_cache_max: Size | None = None
    """Docker build cache above this is pruned (keep-storage)."""
    prune: Annotated[
        list[PruneStep], PlainValidator(_prune_steps), PlainSerializer(_prune_steps_as_yaml), WithJsonSchema(PRUNE_STEP_SCHEMA)
    ] = []
    """What may be reclaimed, in this order, only until the budget holds."""


# --- AWS ------------------------------------------------------------------------------------------


class Aws(Section):
    region: Region | None = None
    """Default region for instances and buckets."""


class Ec2Instance(Section):
    region: Region | None = None
    """Defaults to aws.region."""
    instance_type: InstanceTypeName
    """e.g. c7i.8xlarge."""
    ami: AmiId
    market: Literal["spot", "on-demand"] = "on-demand"
    spot_fallback: Literal["on-demand", "fail"] | None = None
    """When Spot capacity is refused: on-demand (launch On-Demand and say so) or fail (default)."""
    state: Literal["running", "stopped", "absent"] = "running"
    hours: NonNegativeDecimal | None = None
    """Planned runtime for the cost docs; omitted: 24/7 (730 h a month)."""
    expires_at: AwareDatetime | None = None
    """After this moment the instance is terminated (a temporary worker)."""
    subnet_id: SubnetId | None = None
    security_group_ids: list[SecurityGroupId] = []
    key_name: String | None = None
    iam_instance_profile: String | None = None
    root_volume_gb: int_in(1, 65536) | None = None  # type: ignore[valid-type]
    user_data_file: RelativePath | None = None
    """A file relative to the state directory, sent as user data (never run by reconcile)."""
    tags: Tags = {}
    protect: Bool = False
    """true: never stopped or terminated by reconcile."""

    @model_validator(mode="after")
    def _fallback_needs_spot(self) -> Self:
        if self.spot_fallback is not None and self.market != "spot":
            raise SubpathError("spot_fallback applies only to market: spot", "spot_fallback")
        return self


STORAGE_CLASSES = ("STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")


class LifecycleRule(Section):
    id: String
    prefix: String = ""
    expire_days: PositiveInt | None = None
    noncurrent_expire_days: PositiveInt | None = None
    transition_days: NonNegativeInt | None = None
    storage_class: Literal["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] | None = (
        None
    )
    """The class objects move to after transition_days."""

    @model_validator(mode="after")
    def _has_an_action(self) -> Self:
        if (self.transition_days is None) != (self.storage_class is None):
            missing = "storage_class" if self.storage_class is None else "transition_days"
            raise SubpathError(f"a transition needs both transition_days and storage_class; {missing} is missing", "id")
        if self.storage_class in ("STANDARD_IA", "ONEZONE_IA") and (self.transition_days or 0) < 30:
            raise SubpathError(f"AWS moves objects to {self.storage_class} only after at least 30 days", "transition_days")
        if self.expire_days is None and self.noncurrent_expire_days is None and self.transition_days is None:
            raise SubpathError("the rule does nothing: set expire_days, noncurrent_expire_days or transition_days", "id")
        return self


class S3Bucket(Section):
    region: Region | None = None
    """Defaults to aws.region."""
    versioning: Bool = False
    encryption: Literal["AES256", "aws:kms", "none"] = "AES256"
    kms_key_id: String | None = None
    """Only with encryption: aws:kms; omitted: the AWS-managed key."""
    block_public_access: Bool = True
    """All four public access block flags."""
    lifecycle: list[LifecycleRule] = []
    tags: Tags = {}
    expected_gb: NonNegativeDecimal | None = None
    """Expected stored GB, for the cost docs."""
    protect: Bool = True
    """true (default): never deleted by reconcile. A non-empty bucket never is."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kms_key_id is not None and self.encryption != "aws:kms":
            raise SubpathError("kms_key_id applies only to encryption: aws:kms", "kms_key_id")
        seen: set[str] = set()
        for index, rule in enumerate(self.lifecycle):
            if rule.id in seen:
                raise SubpathError(f"lifecycle rule id {rule.id!r} is used twice", "lifecycle", index, "id")
            seen.add(rule.id)
        return self


# --- prices, cost docs, policies ------------------------------------------------------------------


class Ec2Price(Section):
    model_config = ConfigDict(populate_by_name=False)
    on_demand: NonNegativeDecimal | None = Field(None, alias="on-demand")
    """USD per hour On-Demand."""
    spot: NonNegativeDecimal | None = None
    """USD per hour Spot (typical)."""


class S3Price(Section):
    standard_gb_month: NonNegativeDecimal | None = None
    standard_ia_gb_month: NonNegativeDecimal | None = None
    onezone_ia_gb_month: NonNegativeDecimal | None = None
    intelligent_tiering_gb_month: NonNegativeDecimal | None = None
    glacier_ir_gb_month: NonNegativeDecimal | None = None
    glacier_gb_month: NonNegativeDecimal | None = None
    deep_archive_gb_month: NonNegativeDecimal | None = None


class Prices(Section):
    ec2: dict[Region, dict[InstanceTypeName, Ec2Price]] = {}
    """REGION → INSTANCE_TYPE → {on-demand, spot} in USD per hour."""
    s3: dict[Region, S3Price] = {}
    """REGION → USD per GB-month by storage class."""


class CostDoc(Section):
    path: RelativePath
    """Relative to the repository that holds the state directory."""
    mode: Literal["generated", "markers"] = "generated"
    """generated: the whole file; markers: only between <!-- reconcile:cost KEY --> and <!-- /reconcile:cost -->."""


class Policies(Section):
    require_healthcheck: Bool = False
    """Every container declares a healthcheck."""
    require_log_rotation: Bool = False
    """Every json-file/local logging driver sets max-size."""
    check_healthcheck_binaries: Bool = True
    """The image holds what the healthcheck calls (read from its layers, never run)."""
    max_monthly_usd: NonNegativeDecimal | None = None
    """Projected monthly cost above this is an over-budget finding."""


# --- the whole state ------------------------------------------------------------------------------


class State(Section):
    """The desired state: every *.yaml/*.yml file under the directory, merged by top-level section."""

    model_config = ConfigDict(title="reconcile desired state")
    version: Literal[1] = 1
    settings: Settings = Field(default_factory=Settings)
    hosts: dict[Name, Host] = {}
    """Docker hosts; none declared means one implicit host, local (DOCKER_HOST, else the local socket)."""
    networks: dict[Name, Network] = {}
    """User-defined networks, as compose declares them."""
    volumes: dict[Name, NamedVolume | None] = {}  # never None once loaded: _null_volumes
    """Named volumes, as compose declares them (null: the engine's defaults)."""
    configs: dict[Name, ConfigSource] = {}
    """Config files for containers (compose's top-level configs:), from file:, content: or environment:."""
    secrets: dict[Name, SecretSource] = {}
    """Secrets for containers (compose's top-level secrets:), from file:, environment:, aws_ssm: or aws_secretsmanager:."""
    proxies: dict[Name, Proxy] = {}
    """Managed reverse proxies (HAProxy), one per Docker host, for the containers that declare proxy:."""
    containers: dict[Name, Container] = {}
    disk_budgets: dict[Name, DiskBudget] = {}
    aws: Aws = Field(default_factory=Aws)
    ec2_instances: dict[Name, Ec2Instance] = {}
    s3_buckets: dict[BucketName, S3Bucket] = {}
    prices: Prices = Field(default_factory=Prices)
    """Overrides of the price catalog that ships with reconcile."""
    cost_docs: list[CostDoc] = []
    policies: Policies = Field(default_factory=Policies)
    _hosts_implicit: bool = PrivateAttr(default=False)

    @property
    def hosts_implicit(self) -> bool:
        """No hosts: section: the one host is the implicit `local`. A state that declares no
        containers then needs no engine (an AWS-only state plans without one); where one answers,
        the containers and networks it made are still found, and deleted as no longer declared."""
        return self._hosts_implicit

    @property
    def cost_docs_by_path(self) -> dict[str, CostDoc]:
        """The cost docs as the section a kind reads (paths are unique: refs.py checks)."""
        return {doc.path: doc for doc in self.cost_docs}

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Self:
        """Fill each resource's host and region, so nothing downstream guesses (refs.py has
        already reported, with places, whatever is missing or ambiguous)."""
        if not self.hosts:
            self.hosts = {IMPLICIT_HOST: Host()}
            self._hosts_implicit = True
        only_host = next(iter(self.hosts)) if len(self.hosts) == 1 else None
        for name, resource in self.on_hosts():
            if resource.host is None:
                if only_host is None:
                    raise ValueError(f"{name}: host is required when there are several hosts")
                resource.host = only_host
        for container in self.containers.values():
            container.with_profiles(self.settings.profiles)
        self._join_default_network()
        in_a_region: list[tuple[str, Ec2Instance | S3Bucket]] = [*self.ec2_instances.items(), *self.s3_buckets.items()]
        for name, regional in in_a_region:
            if regional.region is None:
                if self.aws.region is None:
                    raise ValueError(f"{name}: region is required when aws.region is not set")
                regional.region = self.aws.region
        return self

    def on_hosts(self) -> list[tuple[str, Any]]:
        """Every resource that lives on a host (its model has a ``host`` field), in any section."""
        return [(name, resource) for section in HOSTED_SECTIONS for name, resource in getattr(self, section).items()]

    @model_validator(mode="before")
    @classmethod
    def _null_volumes(cls, data: Any) -> Any:
        """Compose's ``volumes: {data: }``: a volume with the engine's defaults."""
        if isinstance(data, dict) and isinstance(data.get("volumes"), dict):
            return {**data, "volumes": {k: {} if v is None else v for k, v in data["volumes"].items()}}
        return data

    @property
    def default_network(self) -> str:
        """Compose's PROJECT_default: the network of the containers that name none."""
        return f"{self.settings.name}_default"

    def _join_default_network(self) -> None:
        """As compose does: a container that names no network and no network_mode joins the state's
        default network, as does one that names ``default``; a top-level ``networks: default``
        configures it. With several hosts there is no one default network: nothing is joined. A
        container with a container_name answers to its key (the service name) too, on every network."""
        default = self.default_network
        declared = self.networks.pop("default", None)
        if len(self.hosts) != 1:
            if declared is not None:
                self.networks["default"] = declared
            return
        joined = False
        for container in self.containers.values():
            if container.state == "absent":
                continue
            if "default" in container.networks:
                container.networks = {default if n == "default" else n: a for n, a in container.networks.items()}
                joined = True
            elif not container.networks and "network_mode" not in container.model_fields_set:
                container.networks = {default: Attachment()}
                joined = True
        if joined and default not in self.networks:
            self.networks[default] = declared or Network()
            self.networks[default].host = next(iter(self.hosts))
        for name, container in self.containers.items():
            if container.container_name not in (None, name):  # its own name resolves; its service name too, as in compose
                container.networks = {
                    network: Attachment(tuple(sorted({*attachment.aliases, name})))
                    for network, attachment in container.networks.items()
                }


SCHEMA_ID = "https://github.com/reconciler/reconciler/schema/desired-state.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of one desired-state file; every section is optional in a file,
    since files merge by section."""
    _describe_fields()
    schema = admit_variables(State.model_json_schema(mode="validation"))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


@functools.cache
def _describe_fields() -> None:
    """Each field's docstring (the string right under it in its module) becomes its description, as
    pydantic's ``use_attribute_docstrings`` would do; that option reads every class's source at
    import (~0.09 s of CPU in every run), this reads each module once, when a schema is made."""
    models: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [Section]
    while pending:
        model = pending.pop(0)
        models.append(model)
        pending.extend(model.__subclasses__())
    for model in models:
        for name, field in model.model_fields.items():
            owner = next((c for c in model.__mro__ if name in inspect.get_annotations(c)), model)
            doc = _module_docstrings(owner.__module__).get(owner.__qualname__, {}).get(name)
            if field.description is None and doc is not None:
                field.description = doc
    for _ in range(2):  # a model's schema embeds its fields' models' schemas: rebuild them all, twice
        for model in models:
            model.model_rebuild(force=True)
    State.model_rebuild(force=True)


@functools.cache
def _module_docstrings(module: str) -> dict[str, dict[str, str]]:
    """{class name: {field: docstring}} of every top-level class of ``module``."""
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    return {node.name: _field_docstrings(node) for node in tree.body if isinstance(node, ast.ClassDef)}


def _field_docstrings(node: ast.ClassDef) -> dict[str, str]:
    found: dict[str, str] = {}
    for before, statement in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(before, ast.AnnAssign)
            and isinstance(before.target, ast.Name)
            and isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            found[before.target.id] = inspect.cleandoc(statement.value.value)
    return found


def _hosted_sections() -> tuple[str, ...]:
    """The State sections whose resources live on a host: their model has a ``host`` field."""
    found = []
    for section, info in State.model_fields.items():
        args = typing.get_args(info.annotation)
        if typing.get_origin(info.annotation) is dict and len(args) == 2:
            model = next((a for a in typing.get_args(args[1]) if a is not type(None)), args[1])
            if isinstance(model, type) and issubclass(model, BaseModel) and "host" in model.model_fields:
                found.append(section)
    return tuple(found)


HOSTED_SECTIONS = _hosted_sections()
"""networks, volumes, containers, disk_budgets: each resource's host defaults to the only host,
and refs.py checks that it names a declared one."""
