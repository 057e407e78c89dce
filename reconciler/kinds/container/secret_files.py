"""Compose secrets as files in a container, delivered like configs (config_files.py: an archive put
into the container after create, before start, through the Engine API) at /run/secrets/NAME by
default. A secret's value is never shown, hashed or put in a label: the `reconciler.secrets` label
records where each secret came from (a file, a variable, an AWS store and the version it had), and
plan compares a file's or a variable's value with the file read back from the container (equality,
in memory); an AWS secret by its version alone (plan never reads its value: apply does, by the
version the plan showed). A change shows only that the secret changed.

Where the value is kept: in the container's own filesystem (its writable layer), as compose keeps an
`environment:` secret. A tmpfs at /run/secrets cannot hold it on the engines reconcile supports
(20.10: an archive put into a container lands in its writable layer beneath a tmpfs mount, hidden
from the process), a tmpfs volume loses it at every stop, and a bind of a host tmpfs leaves it on
the host after the container is gone (see the README)."""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from reconciler.clients.aws_secrets import (
    NoCredentials,
    secretsmanager_value,
    secretsmanager_version,
    ssm_value,
    ssm_version,
)
from reconciler.errors import ReconcileError
from reconciler.model.compose_fields import MAX_CONFIG_BYTES, ConfigMount
from reconciler.model.sensitive import Sensitive
from reconciler.model.spec import Container, SecretSource, State
from reconciler.model.unknown import Unknown
from reconciler.plan.schema import Finding

SECRETS_LABEL = "reconciler.secrets"
CHANGED = " (value changed)"
MISSING = " (its file is gone from the container)"
NO_AWS_CREDENTIALS = "AWS credentials"  # what an AWS secret's version waits for when plan has none

Connect = Callable[[str, str], Any]  # (service, region) → a boto3 client
ReadBack = Callable[[str], "bytes | None"]  # a target → what the running container holds there
Holding = Literal["same", "changed", "gone"] | Unknown  # a container's file beside its secret's value (Unknown: known at apply)


def described(mount: ConfigMount, origin: str) -> str:
    """What a target holds, as the label records it and the plan shows it: never the value."""
    return f"{mount.source} from {origin} uid={mount.uid} gid={mount.gid} mode={mount.mode:04o}"


def secrets_label(secrets: dict[str, str]) -> dict[str, str]:
    return {SECRETS_LABEL: json.dumps(secrets, sort_keys=True, separators=(",", ":"))} if secrets else {}


def recorded_secrets(labels: dict[str, Any]) -> dict[str, str]:
    try:
        recorded = json.loads(labels.get(SECRETS_LABEL) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def as_declared_files(spec: Container, view: dict[str, Any]) -> dict[str, Any]:
    """An unmanaged container's view with a bind mount at a declared config's or secret's target
    taken for that config (import declares bind-mounted files so): adopted as it runs, replaced once
    by the next apply to deliver the file through the Engine API."""
    targets = {m.target for m in (*spec.configs, *spec.secrets)}
    if not targets:
        return view
    return {**view, "volumes": [v for v in view["volumes"] if v.split(":")[1:2] != [] and v.split(":")[1] not in targets]}


def _region(explicit: str | None, named: str, default: str | None) -> str:
    if explicit:
        return explicit
    if named.startswith("arn:") and len(named.split(":")) > 3:
        return named.split(":")[3]
    if default:
        return default
    raise ReconcileError(f"{named}: which region? set aws.region, or region: beside it")


def in_store(source: SecretSource) -> bool:
    return source.aws_ssm is not None or source.aws_secretsmanager is not None


def compares_value(mount: ConfigMount, origin: str | Unknown, recorded: Mapping[str, str], source: SecretSource) -> bool:
    """Whether a secret's value is compared with the file the container holds: a file's or a
    variable's (an AWS secret is compared by its version alone) whose label records this very
    origin, owner and mode (else the description differs anyway)."""
    return isinstance(origin, str) and recorded.get(mount.target) == described(mount, origin) and not in_store(source)


def wanted_secrets(
    mounts: tuple[ConfigMount, ...],
    recorded: Mapping[str, str],
    sources: Mapping[str, SecretSource],
    origins: Mapping[str, str | Unknown],
    held: Mapping[str, Holding],
) -> dict[str, str | Unknown]:
    """{target: description} as the container should record it, from each secret's origin (by
    name) and, where compares_value, how the file the container holds compares with the value (by
    target): one that differs is marked changed, one deleted in the container missing; a value
    plan cannot know yet is known at apply. Pure."""
    wanted: dict[str, str | Unknown] = {}
    for mount in mounts:
        origin = origins[mount.source]
        if isinstance(origin, Unknown):
            wanted[mount.target] = origin
            continue
        description: str | Unknown = described(mount, origin)
        if compares_value(mount, origin, recorded, sources[mount.source]):
            holding = held[mount.target]
            if isinstance(holding, Unknown):
                description = holding
            elif holding == "gone":
                description = f"{description}{MISSING}"  # deleted in the container: a restart would not have it either
            elif holding == "changed":
                description = f"{description}{CHANGED}"
        wanted[mount.target] = description
    return wanted


class SecretFiles:
    """One run's reading of the state's secrets: each origin (and an AWS secret's version) read once,
    each value read once and only when needed (an AWS secret's only at apply)."""

    def __init__(self, state: State, repository: Path, connect: Connect) -> None:
        self.state = state
        self.repository = repository
        self.connect = connect
        self._origins: dict[str, str | Unknown] = {}
        self._values: dict[str, bytes] = {}

    def origin(self, name: str) -> str | Unknown:
        """Where a secret comes from, as the label records it (an AWS secret with its version)."""
        if name not in self._origins:
            self._origins[name] = self._origin(self.state.secrets[name])
        return self._origins[name]

    def _origin(self, source: SecretSource) -> str | Unknown:
        if source.file is not None:
            return f"file {os.path.relpath(source.file, self.repository)}"
        if source.environment is not None:
            return f"environment {source.environment}"
        try:
            if source.aws_ssm is not None:
                where = source.aws_ssm
                client = self.connect("ssm", _region(where.region, where.name, self.state.aws.region))
                return f"aws_ssm {where.name} {ssm_version(client, where.name)}"
            assert source.aws_secretsmanager is not None
            secret = source.aws_secretsmanager
            client = self.connect("secretsmanager", _region(secret.region, secret.id, self.state.aws.region))
            shown = f"{secret.id}#{secret.key}" if secret.key else secret.id
            return f"aws_secretsmanager {shown} {secretsmanager_version(client, secret.id)}"
        except NoCredentials:
            return Unknown((NO_AWS_CREDENTIALS,), secret=True)
        except ReconcileError as error:
            return f"{'aws_ssm' if source.aws_ssm else 'aws_secretsmanager'} (unreadable: {error})"

    def value(self, name: str) -> bytes | Unknown:
        """The secret's value (a file's or a variable's; an AWS secret's, by the version its origin
        names: only apply asks for that)."""
        if name in self._values:
            return self._values[name]
        source = self.state.secrets[name]
        if source.file is not None:
            value: bytes | Unknown = Path(source.file).read_bytes()[:MAX_CONFIG_BYTES]
        elif source.environment is not None:
            held = source.environment_value
            if isinstance(held, Unknown) or held is None:
                return held or Unknown((source.environment,), secret=True)
            value = (held.reveal() if isinstance(held, Sensitive) else held).encode()
        else:
            value = self._stored_value(name, source)
        if isinstance(value, bytes):
            self._values[name] = value
        return value

    def _stored_value(self, name: str, source: SecretSource) -> bytes | Unknown:
        origin = self.origin(name)
        if isinstance(origin, Unknown):
            raise ReconcileError(f"secret {name}: cannot be read with this process's AWS credentials")
        version = " ".join(origin.split()[2:4])
        if source.aws_ssm is not None:
            where = source.aws_ssm
            client = self.connect("ssm", _region(where.region, where.name, self.state.aws.region))
            return ssm_value(client, where.name, version)
        assert source.aws_secretsmanager is not None
        secret = source.aws_secretsmanager
        client = self.connect("secretsmanager", _region(secret.region, secret.id, self.state.aws.region))
        return secretsmanager_value(client, secret.id, version, secret.key)

    def findings(self, address: str, mounts: tuple[ConfigMount, ...]) -> list[Finding]:
        """An AWS secret plan cannot find (apply could not deliver it): an error, naming it."""
        found = []
        for name in dict.fromkeys(m.source for m in mounts):
            origin = self.origin(name)
            if isinstance(origin, str) and "(unreadable: " in origin:
                found.append(
                    Finding(
                        severity="error", address=address, code="secret-unreadable",
                        message=f"secret {name}: {origin.partition('(unreadable: ')[2].rstrip(')')}",
                        remedy="create it in the store (or fix its name, region or ARN) before apply",
                    )
                )  # fmt: skip
        return found

    def holdings(self, mounts: tuple[ConfigMount, ...], recorded: Mapping[str, str], read_back: ReadBack) -> dict[str, Holding]:
        """By target, how each file the container holds compares with its secret's value: read back
        only where compares_value says so (observe gathers this; compare reads nothing)."""
        held: dict[str, Holding] = {}
        for mount in mounts:
            if not compares_value(mount, self.origin(mount.source), recorded, self.state.secrets[mount.source]):
                continue
            value = self.value(mount.source)
            if isinstance(value, Unknown):
                held[mount.target] = value
            elif (content := read_back(mount.target)) is None:
                held[mount.target] = "gone"
            else:
                held[mount.target] = "same" if hmac.compare_digest(content, value) else "changed"
        return held

    def label(self, mounts: tuple[ConfigMount, ...]) -> dict[str, str]:
        """The label a new container carries (apply: every origin is known)."""
        return secrets_label({m.target: described(m, str(self.origin(m.source))) for m in mounts})

    def files(self, mounts: tuple[ConfigMount, ...]) -> Iterator[tuple[ConfigMount, bytes]]:
        """Each mount with its value, for the archive (apply only)."""
        for mount in mounts:
            value = self.value(mount.source)
            if isinstance(value, Unknown):
                raise ReconcileError(f"secret {mount.source}: its value is known only at apply")
            yield mount, value
