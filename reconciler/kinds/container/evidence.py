"""What the container comparison needs beyond the engine's record of a container, gathered once by
observe (ContainerKind's gather step) so that compare reads nothing: the repository files it
bind-mounts, the content of each config it mounts and, where a config's content changed, what the
container holds there; where each secret it mounts comes from and, where its value is compared,
how the file the container holds compares with it (never the value itself)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.kinds.container.secret_files import Holding
from reconciler.model.unknown import Unknown


@dataclass(frozen=True)
class Evidence:
    files: dict[str, str] | None = None  # the bind-mounted repository files' digests; None: not compared
    config_contents: Mapping[str, bytes] = field(default_factory=dict)  # by config name (top-level configs:)
    configs_held: Mapping[str, bytes | None] = field(default_factory=dict)  # by target, where content_changed (None: unreadable)
    secret_origins: Mapping[str, str | Unknown] = field(default_factory=dict)  # by secret name, as SecretFiles.origin
    secrets_held: Mapping[str, Holding] = field(default_factory=dict)  # by target, where compares_value
