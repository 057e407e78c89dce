"""Containers on Docker hosts (SPEC §1.2, §3.1): observe by our labels, diff field by field, apply
through the Engine API, replacing healthy-first."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import docker
from docker.types import LogConfig

from reconciler.clients.adoptions import RECORD as ADOPTED
from reconciler.clients.adoptions import AdoptionLedger
from reconciler.clients.crashpoint import crash_point
from reconciler.clients.disk import local_engine
from reconciler.clients.docker import (
    CONNECTION_ERRORS,
    APIError,
    NotFound,
    engine_url,
    explain,
    inspect_container,
    inspect_image,
    shown_url,
    unreachable,
    update_resources,
)
from reconciler.clients.image_layers import files_of
from reconciler.clients.journal import Intent
from reconciler.clients.restart_ledger import RECORD as RESTARTS
from reconciler.clients.restart_ledger import WINDOW, RestartLedger
from reconciler.errors import ReconcileError, StepNotStarted
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.container.bind_files import BindFiles, bind_files, bind_findings
from reconciler.kinds.container.compose_view import (
    compose_create_arguments,
    compose_host_config,
    exposed_to_create,
    first_network,
    later_networks,
)
from reconciler.kinds.container.config_files import (
    archive_of,
    configs_label,
    content_changed,
    content_of,
    desired_configs,
    first_file,
    unified_diff,
)
from reconciler.kinds.container.evidence import Evidence
from reconciler.kinds.container.probe import (
    PROBE_SECONDS,
    HealthProbe,
    check_retries,
    check_start_period,
    keeps_start_interval,
    worth_running,
)
from reconciler.kinds.container.recovery import (
    REPLACEMENT_SUFFIX,
    Leftover,
    Recovery,
    leftover_of,
    recovery_of,
    replacement_of,
    with_recovery,
)
from reconciler.kinds.container.running_now import running_now
from reconciler.kinds.container.secret_files import (
    MISSING,
    NO_AWS_CREDENTIALS,
    SecretFiles,
    as_declared_files,
    wanted_secrets,
)
from reconciler.kinds.container.start import (
    LOG_LINE_CHARS,
    STARTED_SECONDS,
    hidden,
    log_tail,
    not_running,
    up_long_enough,
    wait_started,
)
from reconciler.kinds.container.view import (
    FieldChange,
    ImageDefaults,
    compare,
    desired_view,
    engine_healthcheck,
    observed_view,
)
from reconciler.kinds.docker_hosts import observe_each_host
from reconciler.kinds.identity import (
    ADDRESS,
    HOST,
    MANAGED,
    STATE_LABEL,
    claim_change,
    claim_reason,
    docker_stamp,
    owner_of,
)
from reconciler.kinds.once import Once
from reconciler.kinds.ownership import LEGACY, OURS, UNMANAGED, Held, OwnedKind, another_state, compares, with_action
from reconciler.kinds.proxy.routes import proxy_dependency, replace_reason, switch
from reconciler.model.refs import repository_root
from reconciler.model.sensitive import Sensitive, reveal
from reconciler.model.spec import DEFAULT_STATE_NAME, Container
from reconciler.model.unknown import Unknown, holds_unknown, unknowns
from reconciler.plan.digest import ABSENT, digest_json
from reconciler.plan.schema import CONTENT_DIFF, Action, ActionKind, Blocked, Change, Finding, created_fields
from reconciler.policies.compose import compose_findings
from reconciler.policies.containers import (
    Health,
    declared_findings,
    failing_checks,
    health_findings,
    image_findings,
    lie_findings,
)
from reconciler.policies.healthcheck_lies import Declared, ImageDeclares
from reconciler.policies.image_view import ImageView
from reconciler.units import stop_seconds

CONFIG_HASH = "reconciler.config-hash"
DEFAULT_STOP_SECONDS = 10
POLL_SECONDS = 0.25
SETTLE_SECONDS = 0.5


class NotReadBack(ReconcileError):
    """A file the comparison needs could not be read back from the container."""


@dataclass(frozen=True)
class SeenContainer:
    """One container as observed, with what the pure diff needs to read it."""

    host: str
    id: str
    name: str
    managed: bool
    status: str
    image_id: str
    view: dict[str, Any]  # observed_view
    defaults: ImageDefaults | None  # the desired image's (else the container's own) defaults
    tag_image_id: str | None  # the image the desired tag points to now, if local
    log_driver: str
    stop_timeout: int | None
    health: Health
    restarts_by_us: tuple[datetime, ...] = ()  # on_unhealthy restarts by reconcile within the last hour
    other_state: str | None = None  # made by another state (its reconciler.state label): never ours to change
    legacy: bool = False  # made by reconcile before state names (no reconciler.state) and not claimed by us yet
    leftover: Leftover | None = None  # a temporary replacement a killed apply left (container_recovery)
    keeps_start_interval: bool = True  # its engine keeps a healthcheck's start_interval (API >= 1.44)
    evidence: Evidence = field(default_factory=Evidence)  # what compare needs beyond the record (observe's gather)


def _moment(text: str | None) -> datetime | None:
    """The engine's RFC 3339 time with nanoseconds → datetime (None for its zero time)."""
    if not text or text.startswith("0001-"):
        return None
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction or '0')[:6]}+00:00")


def health_of(record: dict[str, Any], secrets: Iterable[str] = ()) -> Health:
    state = record.get("State") or {}
    health = state.get("Health") or {}
    check = (record.get("Config") or {}).get("Healthcheck") or {}
    log = health.get("Log") or []
    output = (log[-1].get("Output") or "").strip().splitlines() if log else []
    return Health(
        status=state.get("Status", ""),
        health=health.get("Status"),
        failing_streak=health.get("FailingStreak", 0),
        last_output=hidden(output[-1], secrets)[:LOG_LINE_CHARS] if output else "",
        restart_count=record.get("RestartCount", 0),
        started_at=_moment(state.get("StartedAt")),
        start_period=timedelta(seconds=(check.get("StartPeriod") or 0) / 1e9),
        first_check_within=timedelta(seconds=sum(_check_seconds(check))),
    )


def observation(
    host: str,
    record: dict[str, Any],
    tag_image: dict[str, Any] | None,
    own_image: dict[str, Any] | None,
    log_driver: str,
    names_by_id: dict[str, str],
    restarts_by_us: tuple[datetime, ...] = (),
    adopted: bool = False,
    state: str = DEFAULT_STATE_NAME,
    leftover: Leftover | None = None,
    secrets: Iterable[str] = (),
    keeps_start_interval: bool = True,
) -> Observation:
    """One inspected container (and the inspected images: the one its desired tag names, the one
    it runs) → what diff and apply need. Pure. Ours: it carries our state's name, or it was adopted
    or claimed (recorded: labels cannot change)."""
    own_defaults = ImageDefaults.from_inspect(own_image) if own_image else None
    labels = (record.get("Config") or {}).get("Labels") or {}
    owner = owner_of(labels.get(STATE_LABEL), state) if labels.get(MANAGED) == "true" else None
    seen = SeenContainer(
        host=host,
        id=record["Id"],
        name=record["Name"].lstrip("/"),
        managed=owner == "ours" or (adopted and owner != "another state"),
        status=(record.get("State") or {}).get("Status", ""),
        image_id=record["Image"],
        view=observed_view(record, own_defaults, names_by_id),
        defaults=ImageDefaults.from_inspect(tag_image) if tag_image else own_defaults,
        tag_image_id=tag_image["Id"] if tag_image else None,
        log_driver=log_driver,
        stop_timeout=(record.get("Config") or {}).get("StopTimeout"),
        health=health_of(record, secrets),
        restarts_by_us=restarts_by_us,
        other_state=labels[STATE_LABEL] if owner == "another state" else None,
        legacy=owner == "legacy" and not adopted,
        leftover=leftover,
        keeps_start_interval=keeps_start_interval,
    )
    material = {"id": seen.id, "state": seen.view["state"], "image": seen.image_id, "hash": labels.get(CONFIG_HASH)}
    if leftover is not None:
        material["leftover"] = leftover.id
    return Observation(digest_json(material), seen)


def _engine_name(name: str, desired: Mapping[str, Container]) -> str:
    """The name the engine knows a declared container by (compose's container_name, else its key)."""
    spec = desired.get(name)
    return (spec.container_name if spec else None) or name


def _address(name: str) -> str:
    return f"container.{name}"


def _dependencies(spec: Container, declared: Mapping[str, Container] | None = None) -> list[str]:
    """The containers this one waits for (an optional one that is not declared is skipped)."""
    names = [n for n, d in spec.depends_on.items() if d.required or declared is None or n in declared]
    if spec.network_mode.startswith("container:"):
        names.append(spec.network_mode.partition(":")[2])
    return names


def image_declares(record: dict[str, Any]) -> ImageDeclares:
    """What an image's config says about its ports: EXPOSE, and its CMD and ENTRYPOINT."""
    config = record.get("Config") or {}
    exposed = (int(key.partition("/")[0]) for key in config.get("ExposedPorts") or {} if key.partition("/")[0].isdigit())
    return ImageDeclares(frozenset(exposed), tuple(config.get("Cmd") or ()), tuple(config.get("Entrypoint") or ()))


def config_hash(spec: Container) -> str:
    """A digest of the normalised spec; a sensitive value enters only as '(sensitive)', and a spec
    with a value known only at apply has none (apply loads every variable before it hashes)."""
    if holds_unknown(spec):
        raise ReconcileError("a container spec with a value known only at apply cannot be hashed")
    return digest_json(spec.model_dump(mode="json"))


def _known_at_apply_paths(spec: Container) -> list[str]:
    """The fields that hold a value known only at apply, as a plan's changes name them (only the
    fields a value may wait in are looked at, in the model's order: see model/interpolate.py
    may_wait_for_apply)."""
    paths: list[str] = []
    waiting = {
        "command": spec.command,
        "entrypoint": spec.entrypoint,
        "environment": spec.environment,
        "healthcheck": {"test": spec.healthcheck.test} if spec.healthcheck else None,
    }
    for path in unknowns(waiting):
        field = re.sub(r"\[[0-9]+\]$", "", path)
        if field not in paths:
            paths.append(field)
    return paths


def _waiting_reason(paths: list[str], causes: set[str]) -> str:
    """Why values wait for apply: a variable without a value now, or no AWS credentials to read a
    secret's version (a pull request's plan)."""
    said = " and ".join(sorted(causes)) or "a variable without a value"
    return (
        f"known at apply: {', '.join(paths)} ({said} now); apply replaces the container if the value then differs from what runs"
    )


def _waiting_causes(variables: bool, secrets: Mapping[str, object]) -> set[str]:
    held = [value for value in secrets.values() if isinstance(value, Unknown)]
    causes = {"no AWS credentials" if NO_AWS_CREDENTIALS in value.variables else "a variable without a value" for value in held}
    return causes | ({"a variable without a value"} if variables else set())


class ContainerKind(OwnedKind[Container, SeenContainer]):
    kind: ClassVar[str] = "container"
    section: ClassVar[str] = "containers"
    marker: ClassVar[str] = f"label {STATE_LABEL}"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.images: dict[tuple[str, str], ImageView | None] = {}  # (host, reference) → its files, None if not local
        self.started: dict[str, tuple[str, str, float]] = {}  # address → (host, container id, when) started by apply
        self.started_lock = threading.Lock()
        self.unchecked: set[str] = set()  # started by a create nothing depends on: verify sees it stay up
        self.images_ready = Once()  # (host, image, pull_policy) looked up (or pulled) once an apply
        self.ledger = RestartLedger(ctx.record(RESTARTS))
        self.unreachable: dict[str, str] = {}  # host → why observe could not read it
        self.unread: dict[str, tuple[str, str]] = {}  # container → (why, remedy): what compare needs was not read
        self.adoptions = AdoptionLedger(ctx.record(ADOPTED))
        self.intents: dict[str, Intent] = {}  # the journal's, read by observe: what a killed apply began
        self.declares: dict[tuple[str, str], ImageDeclares] = {}  # (host, reference) → its EXPOSE, CMD, ENTRYPOINT
        self._declared: Declared | None = None
        self._checked_images: dict[tuple[str, str, object], list[Finding]] = {}  # see _image_findings
        self._bind_files: dict[str, BindFiles] = {}  # container → the repository files it mounts, read once a run
        self._config_contents: dict[str, bytes] = {}  # config (top-level configs:) → its content, read once a run
        self.secret_files = SecretFiles(ctx.state, repository_root(ctx.state_dir), self._aws)

    # --- connections ------------------------------------------------------------------------

    def _on_this_machine(self, host: str) -> bool:
        spec = self.ctx.state.hosts.get(host)
        return local_engine(engine_url(spec) if spec is not None else None)

    @functools.cached_property
    def _repository(self) -> Path:
        """The repository that holds the state directory (where bind-mounted files may come from), once a run."""
        return repository_root(self.ctx.state_dir)

    def bind_files_of(self, name: str, spec: Container) -> BindFiles:
        """The repository files ``spec`` bind-mounts, hashed (bind_files.py); read once a run."""
        if name not in self._bind_files:
            self._bind_files[name] = bind_files(spec.volumes, self._repository)
        return self._bind_files[name]

    def _compared_files(self, name: str, spec: Container) -> dict[str, str] | None:
        """The file digests a container's configuration holds: only on this machine (elsewhere a
        repository path is an error finding), and none past the bounds (a warning finding)."""
        if not self._on_this_machine(spec.host or ""):
            return None
        files = self.bind_files_of(name, spec)
        return None if files.too_large else files.digests

    def config_contents(self, spec: Container) -> dict[str, bytes]:
        """The content of each config ``spec`` mounts, by name (read once a run)."""
        for mount in spec.configs:
            if mount.source not in self._config_contents:
                self._config_contents[mount.source] = content_of(self.ctx.state.configs[mount.source])
        return {mount.source: self._config_contents[mount.source] for mount in spec.configs}

    def _aws(self, service: str, region: str) -> Any:
        from reconciler.clients.aws import connect

        return self.ctx.client(f"aws:{service}:{region}", lambda: connect(service, region, self.ctx.parallelism))

    def _read_back(self, seen: SeenContainer, target: str) -> bytes | None:
        """The file at ``target`` in the container (a secret, compared in memory, never kept); None:
        there is none. An engine that fails the read is NotReadBack (the container is blocked),
        never a change to plan."""
        try:
            chunks, _ = self.client(seen.host).get_archive(seen.id, target)
        except NotFound:
            return None
        except CONNECTION_ERRORS as error:  # APIError among them
            raise NotReadBack(f"cannot read {target} back to compare it: {explain(error)}") from None
        return first_file(iter(chunks))

    def _files_label(self, name: str, spec: Container) -> dict[str, str]:
        return self.bind_files_of(name, spec).label() if self._on_this_machine(spec.host or "") else {}

    def client(self, host: str) -> docker.APIClient:
        return self.ctx.docker(host)

    # --- observe ----------------------------------------------------------------------------

    def observe(self, desired: Mapping[str, Container]) -> Mapping[str, Observation]:
        """Every host at once; a host that cannot be reached (or fails mid-way) is noted in
        ``self.unreachable`` with the cause, and only its resources are blocked (see diff). Then
        what compare needs beyond each record (gather)."""
        self.intents = self.ctx.journal.intents()
        observed = observe_each_host(
            self.ctx.state,
            lambda host: self._observe_host(host, {name: spec for name, spec in desired.items() if spec.host == host}),
            self.unreachable,
            engine_optional=self.ctx.state.hosts_implicit and not desired,
            say=lambda cause: self.ctx.progress("container.*", cause),
        )
        return {name: self._gathered(name, desired.get(name), seen) for name, seen in sorted(observed.items())}

    def _gathered(self, name: str, desired: Container | None, observed: Observation) -> Observation:
        """The observation with what compare needs (gather), for a container it will compare."""
        seen: SeenContainer = observed.data
        if desired is None or not self.wanted(desired) or not compares(self, name, desired, seen):
            return observed
        try:
            return Observation(observed.digest, replace(seen, evidence=self.gather(name, desired, seen)))
        except NotReadBack as error:
            remedy = "plan again once the engine reads the container's files; nothing is planned for it until then"
            self.unread[name] = str(error), remedy
            return observed

    def gather(self, name: str, desired: Container, seen: SeenContainer) -> Evidence:
        """What compare needs beyond the engine's record, read here once: the repository's bind-mounted
        files and configs, each secret's origin; from the container, where a config's content
        changed what it holds there, and where a secret's value is compared the file it holds."""
        contents = self.config_contents(desired)
        recorded = seen.view["configs"]
        wanted = desired_configs(desired.configs, contents)
        changed = [target for target, said in wanted.items() if target in recorded and content_changed(recorded[target], said)]
        return Evidence(
            files=self._compared_files(name, desired),
            config_contents=contents,
            configs_held={target: self._held_config(seen, target) for target in changed},
            secret_origins={mount.source: self.secret_files.origin(mount.source) for mount in desired.secrets},
            secrets_held=self.secret_files.holdings(desired.secrets, seen.view["secrets"], lambda at: self._read_back(seen, at)),
        )

    def _held_config(self, seen: SeenContainer, target: str) -> bytes | None:
        """What the container holds at a config's target (never more than a config's bound); None:
        it cannot be read (the plan shows a diff from nothing)."""
        with contextlib.suppress(*CONNECTION_ERRORS, APIError):
            chunks, _ = self.client(seen.host).get_archive(seen.id, target)
            return first_file(iter(chunks))
        return None

    def _observe_host(self, host: str, desired: Mapping[str, Container]) -> dict[str, Observation]:
        client = self.client(host)
        self.ctx.progress("container.*", f"listing containers on {host}")
        listing = client.containers(all=True)
        engine_names = {spec.container_name or key: key for key, spec in desired.items()}
        wanted: dict[str, str] = {}  # name → container id
        temporary: dict[str, str] = {}  # name → the id of its NAME-reconcile-new, left by a killed replace
        for summary in listing:
            labels = summary.get("Labels") or {}
            names = [n.lstrip("/") for n in summary.get("Names") or []]
            name = names[0] if names else summary["Id"][:12]
            made_on = labels.get(HOST, host)
            if made_on != host and made_on in self.ctx.state.hosts:
                continue  # the same engine under another host entry: that entry observes it
            if name.endswith(REPLACEMENT_SUFFIX):
                base = replacement_of(name, labels, MANAGED, ADDRESS)
                if base is not None and owner_of(labels.get(STATE_LABEL), self.ctx.state.settings.name) == "ours":
                    temporary[base] = summary["Id"]
                continue
            managed_address = labels.get(ADDRESS, "") if labels.get(MANAGED) == "true" else ""
            if managed_address.startswith("container."):
                if self._sees(managed_address.partition(".")[2], labels, host, summary["Id"], desired):
                    wanted[managed_address.partition(".")[2]] = summary["Id"]
            elif name in engine_names:
                wanted.setdefault(engine_names[name], summary["Id"])
        alone = {name: temporary[name] for name in temporary if name not in wanted}
        wanted.update(alone)  # the old one is gone: observed as the temporary one (it takes the name)
        self.ctx.progress("container.*", f"inspecting {len(wanted)} containers on {host}")
        beside = {n: i for n, i in temporary.items() if n not in alone}
        records, left, images, log_driver = self._inspect(client, wanted, beside, desired)
        leftovers = {n: leftover_of(r, CONFIG_HASH, alone=False) for n, r in left.items()}
        for name in alone:
            leftovers[name] = leftover_of(records[name], CONFIG_HASH, alone=True)
            records[name] = {**records[name], "Name": f"/{_engine_name(name, desired)}"}
        self.declares.update({(host, ref): image_declares(record) for ref, record in images.items() if record})
        if self.ctx.state.policies.check_healthcheck_binaries:
            checked = {spec.image for spec in desired.values() if spec.healthcheck and spec.healthcheck.test}
            self._read_images(host, client, {ref: images[ref] for ref in checked})
        names_by_id = {record["Id"]: record["Name"].lstrip("/") for record in records.values()}
        observed = {}
        for name, record in records.items():
            spec = desired.get(name)
            tag_image = images.get(spec.image) if spec else None
            recent = self.ledger.recent(host, record["Id"], self.ctx.now)
            adopted = self.adoptions.address_of(host, record["Id"]) == _address(name)
            observed[name] = observation(
                host, record, tag_image, images.get(record["Image"]), log_driver, names_by_id, recent, adopted,
                self.ctx.state.settings.name, leftovers.get(name), self._declared_secret_values(),
                keeps_start_interval(client),
            )  # fmt: skip
        return observed

    def _inspect(
        self, client: docker.APIClient, wanted: dict[str, str], beside: dict[str, str], desired: Mapping[str, Container]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any] | None], str]:
        """On one pool of the host, at once: the containers (``wanted`` and the temporary ones
        ``beside`` them, by name), the images their declarations name, the engine's default log
        driver (only when a container found here leaves it to the engine), then the images the
        containers run that the declared tags did not already give (by id: usually none).
        Returns (records, records beside, images by reference or id, log driver)."""
        tags = sorted({spec.image for spec in desired.values()})
        asks_engine = any(name in desired and desired[name].logging is None for name in wanted)
        with ThreadPoolExecutor(max_workers=self.ctx.parallelism) as pool:
            info = pool.submit(client.info) if asks_engine else None
            tag_images = pool.map(lambda ref: inspect_image(client, ref), tags)
            records = dict(zip(wanted, pool.map(lambda ref: inspect_container(client, ref), wanted.values()), strict=True))
            left = dict(zip(beside, pool.map(lambda ref: inspect_container(client, ref), beside.values()), strict=True))
            images = dict(zip(tags, tag_images, strict=True))
            by_id = {record["Id"]: record for record in images.values() if record}
            running = sorted({r["Image"] for r in records.values()} - images.keys())
            images.update({image_id: by_id[image_id] for image_id in running if image_id in by_id})
            unknown = [image_id for image_id in running if image_id not in by_id]
            images.update(zip(unknown, pool.map(lambda ref: inspect_image(client, ref), unknown), strict=True))
            log_driver = str(info.result().get("LoggingDriver", "json-file")) if info else "json-file"
        return records, left, images, log_driver

    def _sees(self, name: str, labels: Mapping[str, str], host: str, container_id: str, desired: Mapping[str, Any]) -> bool:
        """A container reconcile made is ours to observe when it carries our state's name; another
        state's or a legacy one (no state name) only when we declare its name, to block or claim it,
        or when we claimed the legacy one before."""
        owner = owner_of(labels.get(STATE_LABEL), self.ctx.state.settings.name)
        if owner == "ours" or name in desired:
            return True
        return owner == "legacy" and self.adoptions.address_of(host, container_id) == _address(name)

    def _read_images(self, host: str, client: docker.APIClient, records: dict[str, dict[str, Any] | None]) -> None:
        """Each image's files from its layers (cached by image id; never pulled, never run), from
        the inspect records observe already holds (None: not on the host)."""
        for reference, record in sorted(records.items()):
            self.ctx.progress("container.*", f"reading the files of {reference} on {host}")
            self.images[(host, reference)] = files_of(client, reference, record) if record else None

    # --- diff (pure) ------------------------------------------------------------------------

    # --- ownership (kinds/ownership.py decides; these are the container's own words) --------

    def held(self, seen: SeenContainer) -> Held:
        if seen.other_state is not None:
            return another_state(seen.other_state)
        return OURS if seen.managed else LEGACY if seen.legacy else UNMANAGED

    def where(self, desired: Container | None, seen: SeenContainer | None) -> str | None:
        return desired.host if desired else seen.host if seen else None

    def frame(self, name: str, desired: Container | None, observed: Observation | None) -> Action:
        depends_on = (
            [_address(n) for n in _dependencies(desired, self.ctx.state.containers)]
            + [f"network.{n}" for n in desired.networks]
            + [f"volume.{m.source}" for m in desired.volumes if m.source in self.ctx.state.volumes]
            if desired
            else []
        )
        depends_on += proxy_dependency(desired, self.ctx.state) if desired else []
        waiting = (
            _known_at_apply_paths(desired)
            if self.ctx.values_wait_for_apply and desired is not None and desired.state != "absent"
            else []
        )
        return Action(
            address=_address(name), type=self.kind, action="noop", observed_digest=observed.digest if observed else ABSENT,
            depends_on=depends_on, host=self.where(desired, observed.data if observed else None), known_at_apply=waiting,
        )  # fmt: skip

    def wanted(self, desired: Container) -> bool:
        return desired.state != "absent"

    def what(self, name: str, seen: SeenContainer) -> str:
        return f"container {name} on host {seen.host}"

    def create(self, name: str, desired: Container, frame: Action) -> Action:
        shown = desired.model_dump(mode="json", exclude_defaults=True, exclude={"host"})  # secrets dump as (sensitive)
        return with_action(frame, "create", [], created_fields(shown))

    def unmanaged(self, name: str, desired: Container, seen: SeenContainer, frame: Action) -> Action:
        if not _matches(desired, seen):
            return super().unmanaged(name, desired, seen, frame)
        return with_action(
            frame,
            "update",
            [f"adopt: the unmanaged container {name} on {seen.host} matches its declaration; apply records it "
             "as managed (nothing is recreated)"],
            [Change(path="managed", before="no", after="adopted")],
        )  # fmt: skip

    def unmanaged_remedy(self, name: str, seen: SeenContainer) -> str:
        return (
            f"adopt it: declare it as `reconcile import --host {seen.host}` prints it (a declaration that "
            "matches it is adopted by the next apply), or remove or rename it"
        )

    def claim(self, planned: Action, name: str, seen: SeenContainer) -> Action:
        return _with_claim(planned, seen, self.ctx.state.settings.name)

    def settle(self, planned: Action, desired: Container | None, seen: SeenContainer) -> Action:
        """A killed apply's leftover (container_recovery) is cleaned up with whatever is planned."""
        recovery = self._recovery(planned.name, desired, seen)
        return planned if recovery is None else with_recovery(planned, recovery)

    def _recovery(self, name: str, desired: Container | None, seen: SeenContainer) -> Recovery | None:
        if seen.leftover is None:
            return None
        wanted = config_hash(desired) if desired is not None and desired.state == "running" else None
        return recovery_of(name, seen.leftover, wanted, self.intents.get(_address(name)))

    def compare(self, name: str, desired: Container, seen: SeenContainer, frame: Action) -> Action:
        """Pure: the update or replace that makes ``seen`` what ``desired`` declares, from its record
        and what observe gathered beside it (seen.evidence); it reads nothing."""

        def action(kind: ActionKind, reasons: list[str], changes: list[Change], blocked: Blocked | None = None) -> Action:
            return with_action(frame, kind, reasons, changes, blocked)

        waiting = frame.known_at_apply
        causes: set[str] = set()
        if desired.state == "absent":
            return action("delete", ["state: absent"], [Change(path="state", before=seen.view["state"], after="absent")])
        evidence = seen.evidence
        configs = desired_configs(desired.configs, evidence.config_contents)
        secrets = wanted_secrets(
            desired.secrets, seen.view["secrets"], self.ctx.state.secrets, evidence.secret_origins, evidence.secrets_held
        )
        causes = _waiting_causes(bool(waiting), secrets)
        waiting += [f"secrets.{target}" for target, held in secrets.items() if isinstance(held, Unknown)]
        changes = compare({**_wanted_view(desired, seen, evidence.files, configs), "secrets": secrets}, seen.view)
        changes += _config_diffs(desired, evidence, changes)
        unknown_changes = [change for change in changes if change.known_at_apply]
        changes = [change for change in changes if not change.known_at_apply]
        if seen.tag_image_id and seen.tag_image_id != seen.image_id and not any(c.path == "image" for c in changes):
            changes.append(
                FieldChange(
                    "image", f"{desired.image} ({_short(seen.image_id)})", f"{desired.image} ({_short(seen.tag_image_id)})"
                )
            )
        in_place = all(_in_place(change) for change in changes)
        restart = _unhealthy_restart(desired, seen) if in_place else None
        if restart is not None and restart.blocked is None:
            changes.append(FieldChange("health", "unhealthy", "restart"))
        if not changes:
            if restart is not None and restart.blocked is not None:
                restart_change = Change(path="health", before="unhealthy", after="restart")
                return action("update", [restart.reason], [restart_change], restart.blocked)
            return action("noop", [_waiting_reason(waiting, causes)] if unknown_changes else [], [])
        default_network = self.ctx.state.default_network
        reasons = [
            _reason(change, default_network)
            for change in changes
            if (in_place or not _in_place(change)) and not change.path.endswith(CONTENT_DIFF)
        ]
        if restart is not None:
            reasons = [r for r in reasons if r != "health changed"] + [restart.reason]
        if unknown_changes:
            reasons.append(_waiting_reason(waiting, causes))
        if not in_place and (how := replace_reason(desired, _would_clash(desired, seen), self.ctx.state)):
            reasons.append(how)
        return action(
            "update" if in_place else "replace",
            reasons,
            [Change(path=c.path, before=c.before, after=c.after) for c in changes + unknown_changes],
        )

    def findings(self, name: str, desired: Container | None, observed: Observation | None) -> list[Finding]:
        """From the spec, the image's files (read by observe) and the container's health."""
        address = _address(name)
        found: list[Finding] = []
        if desired is not None and desired.state != "absent":
            policies = self.ctx.state.policies
            found += declared_findings(address, desired, policies) + compose_findings(address, desired)
            found += lie_findings(address, name, self.declared(), policies)
            found += self._bind_findings(name, desired) + self.secret_files.findings(address, desired.secrets)
            if desired.host not in self.unreachable:  # unread, not missing: the action says why
                found += self._image_findings(address, desired)
        seen: SeenContainer | None = observed.data if observed else None
        if seen is not None and (seen.managed or seen.legacy):
            found += health_findings(address, seen.health, self.ctx.now)
        return found

    def _bind_findings(self, name: str, desired: Container) -> list[Finding]:
        files = self.bind_files_of(name, desired)
        return bind_findings(_address(name), files, self._on_this_machine(desired.host or ""), self._repository)

    def _image_findings(self, address: str, desired: Container) -> list[Finding]:
        """image_findings, worked out once for each image and healthcheck test on a host."""
        where = (desired.host or "", desired.image)
        key = (*where, desired.healthcheck.test if desired.healthcheck else None)
        if key not in self._checked_images:
            self._checked_images[key] = image_findings("", desired, self.images.get(where), self.ctx.state.policies)
        return [finding.model_copy(update={"address": address}) for finding in self._checked_images[key]]

    def declared(self) -> Declared:
        """Every declared container and what its image declares, for the healthcheck lies (once a plan)."""
        if self._declared is None:
            containers = self.ctx.state.containers
            images = {n: d for n, s in containers.items() if (d := self.declares.get((s.host or "", s.image)))}
            self._declared = Declared(containers, images)
        return self._declared

    # --- apply ------------------------------------------------------------------------------

    def apply(self, step: Step) -> StepResult:
        action = step.action
        seen: SeenContainer | None = step.observed.data if step.observed else None
        try:
            recovered, whole = self._recover(action.name, step.desired, seen) if seen and seen.leftover else ("", False)
            if whole:
                return StepResult(True, recovered)
            result = self._apply(step, seen)
            return StepResult(result.ok, "; ".join(part for part in (recovered, result.message) if part))
        except APIError as error:
            return StepResult(False, explain(error))
        except CONNECTION_ERRORS as error:  # the host went away during apply
            host = (step.desired.host if step.desired else seen.host if seen else None) or ""
            spec = self.ctx.state.hosts.get(host)
            return StepResult(False, unreachable(host, shown_url(spec) if spec else "its URL", error))

    def _recover(self, name: str, desired: Container | None, seen: SeenContainer) -> tuple[str, bool]:
        """Finish or undo what a killed replace left (container_recovery); True: that was the whole step."""
        leftover, recovery = seen.leftover, self._recovery(name, desired, seen)
        assert leftover is not None and recovery is not None
        client, address = self.client(seen.host), _address(name)
        if recovery.how == "remove":
            self.ctx.progress(address, f"removing {leftover.name}, left by an interrupted replace")
            with contextlib.suppress(NotFound):
                client.remove_container(leftover.id, force=True)
            return f"removed {leftover.name} (left by an interrupted replace)", False
        if recovery.how == "finish":
            if desired is not None and desired.proxy is not None:
                switch(self.ctx, name, desired, leftover.id, drain=True)
            self._remove(seen.host, seen.id, seen.stop_timeout, address)
        engine_name = (desired.container_name if desired else None) or name
        self.ctx.progress(address, f"renaming {leftover.name} to {engine_name}")
        client.rename(leftover.id, engine_name)
        if recovery.how == "finish":
            return f"replaced (finished the interrupted replace: {leftover.name} was healthy and took the name)", True
        return f"renamed {leftover.name} to {name} (the interrupted replace had removed the old container)", False

    def _apply(self, step: Step, seen: SeenContainer | None) -> StepResult:
        action = step.action
        try:
            if action.action == "create":
                assert step.desired is not None
                made = self._create(action.name, step.desired, step.desired.container_name or action.name)
                routed = step.desired.proxy and step.desired.state == "running"
                routed_said = f"; {switch(self.ctx, action.name, step.desired, made, drain=False)}" if routed else ""
                return StepResult(True, "created" + (" and started" if step.desired.state == "running" else "") + routed_said)
            if action.action == "delete":
                assert seen is not None
                self._remove(seen.host, seen.id, seen.stop_timeout, action.address)
                return StepResult(True, "stopped and removed")
            if action.action == "update":
                assert step.desired is not None and seen is not None
                return StepResult(True, self._update(step.desired, seen, action))
            if action.action == "replace":
                assert step.desired is not None and seen is not None
                return StepResult(True, self._replace(action.name, step.desired, seen))
        except StepNotStarted:
            raise
        except ReconcileError as error:
            return StepResult(False, str(error))
        return StepResult(True, "nothing to do")

    def verify(self) -> dict[str, StepResult]:
        """Every container a step started must still run a moment later: a process that dies at
        once (a command the image lacks, under an init that started fine) fails its step."""
        if not self.started:
            return {}
        up = {address: STARTED_SECONDS if address in self.unchecked else SETTLE_SECONDS for address in self.started}
        time.sleep(max(0.0, max(when + up[address] for address, (_, _, when) in self.started.items()) - time.monotonic()))
        started = list(self.started.items())
        hosts = {host for host, _, _ in self.started.values()}
        listed = {host: running_now(self.client(host), [i for h, i, _ in self.started.values() if h == host]) for host in hosts}
        # listed as running under `restart: no`: it has not exited, and nothing can have restarted it
        running = {a: StepResult(True, "running") for a, (h, i, _) in started if i in listed[h] and self._restart(a) == "no"}

        def check(item: tuple[str, tuple[str, str, float]]) -> tuple[str, StepResult]:
            address, (host, container_id, _) = item
            try:
                record = inspect_container(self.client(host), container_id)
            except NotFound:
                return address, StepResult(True, "replaced since")  # a later step of this apply replaced it
            except CONNECTION_ERRORS:  # the engine went away after the step: its other steps say so
                return address, StepResult(True, "not seen again: the engine stopped answering")
            spec = self.ctx.state.containers.get(address.partition(".")[2])
            failed = not_running(record, spec.restart if spec else "no")
            if failed is not None:
                secrets = _secrets(spec) if spec else ()
                restart, client = spec.restart if spec else "no", self.client(host)
                # a check deferred from its step says what the step would have (in a restart loop, the exit code)
                why = (
                    wait_started(client, container_id, restart, self.ctx.aborting, secrets) if address in self.unchecked else None
                )
                return address, StepResult(False, why or failed + log_tail(client, container_id, secrets))
            return address, StepResult(True, "running")

        rest = [item for item in started if item[0] not in running]
        if not rest:
            return running
        with ThreadPoolExecutor(max_workers=self.ctx.parallelism) as pool:
            return running | dict(pool.map(check, rest))

    def _restart(self, address: str) -> str:
        spec = self.ctx.state.containers.get(address.partition(".")[2])
        return spec.restart if spec else "no"

    def _create(self, name: str, spec: Container, container_name: str, check_started: bool = True) -> str:
        """Create and (state: running) start it; ``check_started``: and see it stay up (container_start)."""
        client = self.client(spec.host or "")
        address = _address(name)
        self._ensure_image(client, spec, address)
        self._wait_for_dependencies(spec, address)
        if self.ctx.stopping.is_set():
            raise self.ctx.not_started()
        self.ctx.progress(address, f"creating {container_name}")
        created = client.create_container(**self._create_arguments(client, name, spec, container_name))
        for network, aliases in later_networks(spec):
            client.connect_container_to_network(created["Id"], network, aliases=aliases or None)
        if spec.configs or spec.secrets:
            contents = self.config_contents(spec)
            files = [*((m, contents[m.source]) for m in spec.configs), *self.secret_files.files(spec.secrets)]
            client.put_archive(created["Id"], "/", archive_of(files))
        if spec.state == "running":
            client.start(created["Id"])
            with self.started_lock:
                self.started[address] = (spec.host or "", created["Id"], time.monotonic())
            if check_started and name in self._depended_on:
                self._check_started(client, created["Id"], spec, address)
            elif check_started:  # no step waits for it: verify sees it stay up, and the walk goes on
                with self.started_lock:
                    self.unchecked.add(address)
        return str(created["Id"])

    @functools.cached_property
    def _depended_on(self) -> frozenset[str]:
        """The declared containers another one waits for (depends_on, network_mode container:)."""
        declared = self.ctx.state.containers
        return frozenset(dependency for spec in declared.values() for dependency in _dependencies(spec, declared))

    def _check_started(self, client: docker.APIClient, container_id: str, spec: Container, address: str) -> None:
        self.ctx.progress(address, "checking that it stays up")
        failed = wait_started(client, container_id, spec.restart, self.ctx.aborting, _secrets(spec))
        if failed is not None:
            raise ReconcileError(failed)

    def _create_arguments(self, client: docker.APIClient, name: str, spec: Container, container_name: str) -> dict[str, Any]:
        bindings: dict[int | str, Any] = {}
        for port in spec.ports if spec.network_mode != "host" else ():  # host networking publishes nothing
            for offset in range(port.container_end - port.container_start + 1):
                key = f"{port.container_start + offset}/{port.protocol}"
                host_port = port.host_port(offset)
                bindings[key] = (port.host_ip or "", host_port) if host_port else ((port.host_ip,) if port.host_ip else None)
        host_config = client.create_host_config(
            port_bindings=bindings or None,
            binds=[f"{v.source}:{v.target}:{','.join(v.options or ['rw'])}" for v in spec.volumes] or None,
            restart_policy=_restart_policy(spec),
            log_config=LogConfig(type=spec.logging.driver, config=dict(spec.logging.options)) if spec.logging else None,
            network_mode=first_network(spec) or spec.network_mode,
            mem_limit=spec.mem_limit,
            nano_cpus=round(spec.cpus * 1e9) if spec.cpus else None,
            init=spec.init or None,
            **compose_host_config(spec),
        )
        healthcheck = engine_healthcheck(spec.healthcheck, None)
        labels = {
            **spec.labels, **docker_stamp(_address(name), spec.host or "", self.ctx.state.settings.name),
            CONFIG_HASH: config_hash(spec), **self._files_label(name, spec),
            **configs_label(desired_configs(spec.configs, self.config_contents(spec))),
            **self.secret_files.label(spec.secrets),
        }  # fmt: skip
        return {
            "image": spec.image,
            "name": container_name,
            "command": [reveal(arg) for arg in spec.command] if spec.command is not None else None,
            "entrypoint": [reveal(arg) for arg in spec.entrypoint] if spec.entrypoint is not None else None,
            "environment": {key: reveal(value) for key, value in spec.environment.items()},
            "labels": labels,
            "healthcheck": {k: ([reveal(a) for a in v] if k == "Test" else v) for k, v in healthcheck.items()}
            if healthcheck
            else None,
            "user": spec.user,
            "stop_signal": spec.stop_signal,
            "stop_timeout": stop_seconds(spec.stop_grace_period) if spec.stop_grace_period else None,
            "ports": exposed_to_create(spec) or None,  # a mapping: docker-py hands it to the engine as written
            "host_config": host_config,
            "detach": True,
            **compose_create_arguments(spec, client),
        }

    def _ensure_image(self, client: docker.APIClient, spec: Container, address: str) -> None:
        """Once an apply for each image on a host (and pull policy): the other creates wait for the first."""
        key = (spec.host or "", spec.image, spec.pull_policy)
        self.images_ready.run(key, lambda: self._ensure_image_now(client, spec, address))

    def _ensure_image_now(self, client: docker.APIClient, spec: Container, address: str) -> None:
        local = inspect_image(client, spec.image) is not None
        if spec.pull_policy == "never" and not local:
            raise ReconcileError(f"image {spec.image} is not on host {spec.host}, and pull_policy: never forbids pulling it")
        if spec.pull_policy != "always" and local:
            return
        self.ctx.progress(address, f"pulling {spec.image}")
        repository, _, tag = spec.image.rpartition(":") if ":" in spec.image.rsplit("/", 1)[-1] else (spec.image, "", "latest")
        try:
            client.pull(repository, tag=tag)
        except (APIError, docker.errors.DockerException) as error:
            raise ReconcileError(
                f"image {spec.image} is not on host {spec.host} and pulling it failed: {explain(error)}"
            ) from None

    def _wait_for_dependencies(self, spec: Container, address: str) -> None:
        """Each dependency as its depends_on condition asks (compose's): the short form waits for
        running, and healthy if it has a healthcheck."""
        for dependency in _dependencies(spec, self.ctx.state.containers):
            crash_point("container.waiting-dependency")
            if self.ctx.stopping.is_set():  # nothing is changed yet: the step ends as not started
                raise self.ctx.not_started(f" before {dependency} was ready")
            target = self.ctx.state.containers[dependency]
            condition = spec.depends_on[dependency].condition if dependency in spec.depends_on else None
            client = self.client(target.host or "")
            reference = target.container_name or dependency
            if condition == "service_completed_successfully":
                self.ctx.progress(address, f"waiting for {dependency} to complete successfully")
                ready, detail = wait_completed(client, reference, self.ctx.stopping)
            else:
                self.ctx.progress(address, f"waiting for {dependency} to be running" + ("" if condition else " and healthy"))
                ready, detail = self._wait_healthy(client, reference, target, address, condition, self.ctx.stopping)
            if not ready and self.ctx.stopping.is_set():
                raise self.ctx.not_started(f" while it waited for {dependency}")
            if not ready:
                raise ReconcileError(f"dependency {dependency} is not ready: {detail}")

    def _wait_healthy(
        self,
        client: docker.APIClient,
        reference: str,
        spec: Container,
        address: str,
        condition: str | None = None,
        give_up: threading.Event | None = None,
    ) -> tuple[bool, str]:
        """Wait until the container runs (for container_start's STARTED_SECONDS at least) and, if it
        has a healthcheck, is healthy; bounded by start_period + retries × (interval + timeout),
        with a little slack. ``condition`` service_started: running is enough; service_healthy: a
        healthcheck is required. ``give_up`` (default: the apply is aborting) ends the wait early."""
        give_up = give_up or self.ctx.aborting
        crash_point("container.waiting-healthy")
        record = client.inspect_container(reference)
        check = (record.get("Config") or {}).get("Healthcheck") or {}
        has_check = bool(check.get("Test")) and check["Test"][0] != "NONE" and condition != "service_started"
        if condition == "service_healthy" and not has_check:
            return False, f"{reference} has no healthcheck, and condition: service_healthy needs one"
        interval, timeout = _check_seconds(check)
        start_period, retries = check_start_period(check), check_retries(check)
        bound = start_period + retries * (interval + timeout) + 5 if has_check else 10
        engine_verdict = start_period + retries * interval  # no sooner: a slow starter the engine would pass, passes
        secrets = [*_secrets(spec), *self._declared_secret_values()]  # a check's text may hold one amid other text
        probe = HealthProbe(client, record, secrets) if has_check and worth_running(check) else None
        failing, ours, next_probe = 0, "", 0.0  # our own runs of its check (container_probe)
        started = time.monotonic()
        last_said = 0.0
        while True:
            state = record.get("State") or {}
            if state.get("Status") in ("exited", "dead", "created"):
                return False, f"{reference} is {state.get('Status')} (exit code {state.get('ExitCode')})"
            health = state.get("Health")
            if has_check and state.get("Status") == "running" and (health or {}).get("Status") == "healthy":
                return True, "healthy"
            if not has_check and up_long_enough(record):
                return True, "running"
            if has_check and (health or {}).get("Status") == "unhealthy":
                return False, f"{reference} is unhealthy: {_last_output(health, secrets)}"
            elapsed = time.monotonic() - started
            if probe is not None and state.get("Status") == "running" and elapsed >= next_probe:
                outcome = probe.run()
                next_probe = time.monotonic() - started + PROBE_SECONDS
                if outcome is not None and outcome.passed:
                    return True, "healthy (its healthcheck passed, run by reconcile)"
                if outcome is not None:
                    ours = outcome.output
                    failing = failing + 1 if elapsed >= start_period else 0
                if failing >= retries and elapsed >= engine_verdict:
                    return False, (
                        f"{reference} is unhealthy: its healthcheck kept failing past its start period "
                        f"({start_period:g}s) and {retries} × its interval ({interval:g}s), when the engine calls it "
                        f"unhealthy; last: {ours}"
                    )
                elapsed = time.monotonic() - started
            if elapsed > bound:
                if not has_check:
                    restarts = record.get("RestartCount") or 0
                    return False, (
                        f"{reference} did not stay up for {STARTED_SECONDS:.0f}s within {bound:.0f}s "
                        f"(it is {state.get('Status')}, restarted {restarts} times)"
                    )
                last = f"last: {ours}" if ours else _last_output(health, secrets)
                return False, f"{reference} was not healthy after {bound:.0f}s: {last}"
            if give_up.is_set():
                return False, f"stopped waiting: {self.ctx.aborted_because or 'the apply is stopping'}"
            if elapsed - last_said >= 1:
                self.ctx.progress(address, f"waiting for {reference} to be healthy ({elapsed:.0f}s of at most {bound:.0f}s)")
                last_said = elapsed
            time.sleep(POLL_SECONDS)
            record = client.inspect_container(reference)

    def _declared_secret_values(self) -> list[str]:
        """The values of the state's declared secrets (settings.secrets), as apply's environment has them."""
        return [value for name in self.ctx.state.settings.secrets if (value := os.environ.get(name))]

    def _remove(self, host: str, container_id: str, stop_timeout: int | None, address: str) -> None:
        client = self.client(host)
        self.ctx.progress(address, "stopping")
        with contextlib.suppress(NotFound):  # already gone: the goal is met
            client.stop(container_id, timeout=_stop_seconds(stop_timeout))
            client.remove_container(container_id)

    def _update(self, spec: Container, seen: SeenContainer, action: Action) -> str:
        client = self.client(seen.host)
        paths = {change.path for change in action.changes}
        body: dict[str, Any] = {}
        if "restart" in paths:
            body["RestartPolicy"] = _restart_policy(spec)
        if "mem_limit" in paths and spec.mem_limit:
            body["Memory"] = spec.mem_limit
            body["MemorySwap"] = 2 * spec.mem_limit
        if "cpus" in paths and spec.cpus:
            body["NanoCpus"] = round(spec.cpus * 1e9)
        if "mem_reservation" in paths:
            body["MemoryReservation"] = spec.mem_reservation or 0
        if "pids_limit" in paths:
            body["PidsLimit"] = spec.pids_limit if spec.pids_limit and spec.pids_limit > 0 else -1
        starting = "state" in paths and spec.state == "running"
        if starting:  # before any change, so that a stop while it waits leaves the step not started
            self._wait_for_dependencies(spec, _address(seen.name))
        done = []
        if "managed" in paths:
            self.adoptions.record(seen.host, seen.id, _address(seen.name))
            done.append("adopted (recorded as managed; nothing recreated, its labels stay as they were)")
        if "owner" in paths:
            self.adoptions.record(seen.host, seen.id, _address(seen.name))
            done.append(f"claimed for state {self.ctx.state.settings.name} (recorded; nothing recreated)")
        if body:
            update_resources(client, seen.id, body)
            done.append("updated " + ", ".join(sorted(paths - {"state", "managed", "owner"})))
        if "state" in paths:
            if starting:
                client.start(seen.id)
                with self.started_lock:
                    self.started[_address(seen.name)] = (seen.host, seen.id, time.monotonic())
                self._check_started(client, seen.id, spec, _address(seen.name))
                done.append("started")
            else:
                client.stop(seen.id, timeout=_stop_seconds(seen.stop_timeout))
                done.append("stopped")
        if "health" in paths:
            done.append(self._restart_unhealthy(client, spec, seen))
        return " and ".join(done)

    def _restart_unhealthy(self, client: docker.APIClient, spec: Container, seen: SeenContainer) -> str:
        """Restart, count it against the flap budget, and wait to see it healthy again."""
        address = _address(seen.name)
        self.ctx.progress(address, "restarting: it is unhealthy")
        client.restart(seen.id, timeout=_stop_seconds(seen.stop_timeout))
        self.ledger.record(seen.host, seen.id, datetime.now(UTC))
        healthy, detail = self._wait_healthy(client, seen.id, spec, address)
        if not healthy:
            raise ReconcileError(f"restarted because it was unhealthy, and it is still not healthy: {detail}")
        return "restarted (it was unhealthy; healthy again)"

    def _replace(self, name: str, spec: Container, seen: SeenContainer) -> str:
        client = self.client(seen.host)
        address = _address(name)
        temporary = f"{spec.container_name or name}{REPLACEMENT_SUFFIX}"
        with contextlib.suppress(NotFound):
            client.remove_container(temporary, force=True)  # a leftover of an interrupted replace
        clash = _would_clash(spec, seen)
        intent = self.intents.get(address)
        # a replace killed after it stopped the old container for the ports: it was running before that
        was_running = seen.status == "running" or (clash and intent is not None and intent.action == "replace")
        if clash and was_running:
            self.ctx.progress(address, "stopping the old container first (both would bind the same host ports)")
            client.stop(seen.id, timeout=_stop_seconds(seen.stop_timeout))
        try:
            new_id = self._create(name, spec, temporary, check_started=False)
        except (APIError, ReconcileError):
            if clash and was_running:
                client.start(seen.id)
            raise
        if spec.state == "running":
            failed = wait_started(client, new_id, spec.restart, self.ctx.aborting, _secrets(spec))
            healthy, detail = (False, failed) if failed else self._wait_healthy(client, new_id, spec, address)
            if not healthy:
                client.remove_container(new_id, force=True)
                if clash and was_running:
                    client.start(seen.id)
                kept = "the old container keeps running" if was_running else "the old container is kept"
                if failed:
                    raise ReconcileError(f"the new container {failed}; it was removed and {kept}")
                if self.ctx.aborting.is_set():
                    raise ReconcileError(
                        f"interrupted before the new container became healthy ({self.ctx.aborted_because}); "
                        f"it was removed and {kept}"
                    )
                raise ReconcileError(f"the new container never became healthy ({detail}); {kept}")
        crash_point("container.replacement-ready")
        routed = f"; {switch(self.ctx, name, spec, new_id, drain=True)}" if spec.proxy and spec.state == "running" else ""
        self._remove(seen.host, seen.id, seen.stop_timeout, address)
        crash_point("container.old-removed")
        client.rename(new_id, spec.container_name or name)
        said = "replaced (the new container was healthy before the old one was removed)" if not clash else "replaced"
        said += routed
        return said + self._restart_dependants(name)

    def _restart_dependants(self, name: str) -> str:
        """compose's depends_on `restart: true`: a running dependant is restarted once its
        dependency has been replaced (one that is replaced itself starts fresh anyway)."""
        restarted = []
        for dependant, spec in sorted(self.ctx.state.containers.items()):
            if not (name in spec.depends_on and spec.depends_on[name].restart and spec.state == "running"):
                continue
            client = self.client(spec.host or "")
            with contextlib.suppress(NotFound):
                record = client.inspect_container(spec.container_name or dependant)
                if (record.get("State") or {}).get("Status") == "running":
                    self.ctx.progress(_address(name), f"restarting {dependant} (depends_on {name} with restart: true)")
                    client.restart(record["Id"], timeout=_stop_seconds((record.get("Config") or {}).get("StopTimeout")))
                    restarted.append(dependant)
        return f"; restarted {', '.join(restarted)} (depends_on restart: true)" if restarted else ""


def wait_completed(client: docker.APIClient, reference: str, give_up: threading.Event) -> tuple[bool, str]:
    """Wait until a one-shot container has exited; ready when its exit code is 0."""
    while not give_up.is_set():
        state = client.inspect_container(reference).get("State") or {}
        if state.get("Status") in ("exited", "dead"):
            code = state.get("ExitCode")
            return code == 0, "completed" if code == 0 else f"{reference} exited with code {code}"
        time.sleep(POLL_SECONDS)
    return False, "stopped before it completed"


@dataclass(frozen=True)
class UnhealthyRestart:
    reason: str
    blocked: Blocked | None  # the flap budget is spent


def _unhealthy_restart(desired: Container, seen: SeenContainer) -> UnhealthyRestart | None:
    """With on_unhealthy: restart, an unhealthy running container is restarted, at most
    unhealthy_restarts_per_hour times an hour: past that, the restart is blocked."""
    health = seen.health
    if desired.on_unhealthy != "restart" or desired.state != "running":
        return None
    if health.status != "running" or health.health != "unhealthy":
        return None
    last = health.last_output or "(none)"
    done, budget = len(seen.restarts_by_us), desired.unhealthy_restarts_per_hour
    if done < budget:
        return UnhealthyRestart(
            f"unhealthy: restart ({failing_checks(health.failing_streak)} in a row; last output: {last})", None
        )
    frees = (
        f"the budget frees at {(seen.restarts_by_us[-budget] + WINDOW).strftime('%H:%M UTC')}"
        if budget and seen.restarts_by_us
        else "restarts are off (budget 0)"
    )
    return UnhealthyRestart(
        "unhealthy: restart blocked by the flap budget",
        Blocked(
            reason=f"unhealthy, and restarted {_times(done)} in the last hour already (budget: {budget} an hour); "
            f"last health output: {last}",
            remedy=f"a restart loop hides a broken image or healthcheck: read `docker logs {seen.name}` and fix it; "
            f"{frees}, or raise unhealthy_restarts_per_hour",
        ),
    )


def _with_claim(planned: Action, seen: SeenContainer, state: str) -> Action:
    """A legacy container (made before state names) that this state declares: claimed with the
    plan's action. A replace stamps our name on the new container; otherwise apply records the claim
    (its labels cannot change), so nothing is recreated for it."""
    how = (
        f"its replacement carries {STATE_LABEL}={state}"
        if planned.action == "replace"
        else f"apply records it as state {state}'s (labels cannot change; nothing is recreated)"
    )
    reasons = [*planned.reasons, claim_reason(f"container {seen.name}", how)]
    changes = [*planned.changes, claim_change("owner", state)]
    kind: ActionKind = "update" if planned.action == "noop" else planned.action
    return planned.model_copy(update={"action": kind, "reasons": reasons, "changes": changes})


def _wanted_view(
    desired: Container, seen: SeenContainer, files: dict[str, str] | None = None, configs: dict[str, str] | None = None
) -> dict[str, Any]:
    """desired_view as this container's engine can keep it: an engine with API < 1.44 drops a
    healthcheck's start_interval (so it is not drift there; apply's own runs of the check stand in)."""
    view = desired_view(desired, seen.defaults, seen.log_driver, files, configs)
    return view if seen.keeps_start_interval else {**view, "healthcheck.start_interval": None}


def _config_diffs(spec: Container, evidence: Evidence, changes: list[FieldChange]) -> list[FieldChange]:
    """A unified diff of each mounted config whose content changed (content_changed), from what
    the container holds there (gathered; a diff from nothing where it holds none or could not be read)."""
    diffs = []
    for change in changes:
        mount = next((m for m in spec.configs if change.path == f"configs.{m.target}"), None)
        if mount is None or not isinstance(change.after, str):
            continue
        if not content_changed(change.before if isinstance(change.before, str) else None, change.after):
            continue  # the same content: only the owner or mode changed
        before, after = evidence.configs_held.get(mount.target), evidence.config_contents[mount.source]
        diffs.append(FieldChange(f"{change.path}{CONTENT_DIFF}", None, unified_diff(mount.target, before, after)))
    return diffs


def _matches(desired: Container, seen: SeenContainer) -> bool:
    """An unmanaged container that is what the declaration describes, down to the image it runs."""
    same_image = seen.tag_image_id is None or seen.tag_image_id == seen.image_id
    return same_image and not compare(_wanted_view(desired, seen), as_declared_files(desired, seen.view))


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _would_clash(spec: Container, seen: SeenContainer) -> bool:
    """Would the new and the old container bind the same host ports? With host networking the
    ports a process binds are unknown, so assume they would."""
    if spec.network_mode == "host" and seen.view["network_mode"] == "host":
        return True
    published = {p.split(":")[-2] if p.count(":") >= 1 else "" for p in seen.view["ports"]}
    wanted = {str(p.host_start) for p in spec.ports if p.host_start is not None}
    return bool(published & wanted)


def _check_seconds(check: dict[str, Any]) -> tuple[float, float]:
    """A healthcheck's interval and timeout in seconds, with the engine's defaults (30 s each)."""
    return (check.get("Interval") or 30 * 10**9) / 1e9, (check.get("Timeout") or 30 * 10**9) / 1e9


def _restart_policy(spec: Container) -> dict[str, Any]:
    """`restart: on-failure:3` → the engine's RestartPolicy."""
    name, _, retries = spec.restart.partition(":")
    return {"Name": "" if name == "no" else name, "MaximumRetryCount": int(retries or 0)}


def _stop_seconds(stop_timeout: int | None) -> int:
    return DEFAULT_STOP_SECONDS if stop_timeout is None else stop_timeout


def _in_place(change: FieldChange) -> bool:
    return change.in_place and (change.path not in ("mem_limit", "cpus") or change.after is not None)


def _reason(change: FieldChange, default_network: str) -> str:
    if change.path == "state":
        return "start" if change.after == "running" else "stop"
    if change.path.startswith("configs."):
        source = str(change.after or change.before or "").partition(" ")[0]
        return f"config {source} at {change.path.removeprefix('configs.')} changed"
    if change.path.startswith("secrets."):
        after = change.after if isinstance(change.after, str) else ""
        source = str(after or change.before or "").partition(" ")[0]
        how = (
            "is gone from the container (deleted in it: a restart would not have it either)"
            if after.endswith(MISSING)
            else "changed"
        )
        return f"secret {source} at {change.path.removeprefix('secrets.')} {how}"
    if change.path.startswith("files."):
        how = "changed" if change.before and change.after else "added" if change.after else "removed"
        return f"file {change.path.removeprefix('files.')} {how}"
    if change.path == "network_mode" and change.after == default_network:
        return f"joins the default network {default_network} (it names no network: compose's PROJECT_default)"
    return f"{change.path} changed"


def _secrets(spec: Container) -> list[str]:
    """The secret text a container is given (its sensitive values, past their clear prefix): never
    said, not even when its own log prints it."""
    check = (spec.healthcheck.test or ()) if spec.healthcheck else ()
    values = [*spec.environment.values(), *(spec.command or ()), *(spec.entrypoint or ()), *check]
    return [value.reveal()[len(value.clear_prefix) :] for value in values if isinstance(value, Sensitive)]


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _last_output(health: dict[str, Any] | None, secrets: list[str]) -> str:
    log = (health or {}).get("Log") or []
    if not log:
        return "no healthcheck has run yet"
    last = log[-1]
    output = (last.get("Output") or "").strip().splitlines()
    failing = (health or {}).get("FailingStreak", 0)
    said = hidden(output[-1], secrets)[:LOG_LINE_CHARS] if output else "(none)"
    return f"exit {last.get('ExitCode')}, {failing} failing in a row, last output: {said}"


KIND = ContainerKind
