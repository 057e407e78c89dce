"""What a pasted compose file needs before the model reads it: `x-*` extensions dropped, the
fields reconcile does not support named with what to do instead (never a 'did you mean' to a key of
another meaning), relative paths made absolute against the file that declares them (as compose
does against its project directory). Compose's bare environment keys are the variables' business
(interpolate.py). Works on the merged, interpolated document, in place."""

from __future__ import annotations

import os
from pathlib import Path as FsPath
from typing import Any

from reconciler.errors import Diagnostic
from reconciler.model.compose_fields import MAX_CONFIG_BYTES
from reconciler.model.source import Path, Position, SourceMap, dotted

_CPU = "use cpus (or deploy.resources.limits.cpus)"
_MEMORY = "use mem_limit and mem_reservation (or deploy.resources)"
_NOT_SET = "remove it; reconcile does not set it on the engine"

UNSUPPORTED_SERVICE_KEYS: dict[str, str] = {
    "build": "reconcile never builds images; build and push the image in CI and declare image: with its tag "
    "(with image:, build: is accepted and not run, as by `docker compose up --no-build`)",
    "gpus": "GPUs are not managed; run that container outside reconcile for now",
    "scale": "declare each copy as its own container (web-1, web-2)",
    "links": "put both containers on one user-defined network (networks:) and reach it by its name",
    "external_links": "put both containers on one user-defined network (networks:) and reach it by its name",
    "extends": "use a YAML anchor and a merge key (x-base: &base … <<: *base)",
    "volumes_from": "declare the same volumes on this container",
    "cpuset": _CPU,
    "cpu_shares": _CPU,
    "cpu_quota": _CPU,
    "cpu_period": _CPU,
    "cpu_count": _CPU,
    "cpu_percent": _CPU,
    "cpu_rt_runtime": _CPU,
    "cpu_rt_period": _CPU,
    "mem_swappiness": _MEMORY,
    "oom_kill_disable": _MEMORY,
    "oom_score_adj": _MEMORY,
    "blkio_config": _NOT_SET,
    "ipc": _NOT_SET,
    "pid": _NOT_SET,
    "uts": _NOT_SET,
    "userns_mode": _NOT_SET,
    "cgroup": _NOT_SET,
    "cgroup_parent": _NOT_SET,
    "isolation": _NOT_SET,
    "runtime": _NOT_SET,
    "storage_opt": _NOT_SET,
    "device_cgroup_rules": _NOT_SET,
    "credential_spec": _NOT_SET,
    "mac_address": _NOT_SET,
    "annotations": "use labels",
    "label_file": "write the labels under labels:",
    "develop": "compose watch is for local development; reconcile applies what is committed",
    "post_start": "put the step in the container's command or entrypoint",
    "pre_stop": "put the step in the container's stop handling",
    "attach": "read the logs with docker logs",
    "use_api_socket": "mount the socket with volumes: [/var/run/docker.sock:/var/run/docker.sock]",
    "provider": "declare the service as a container with an image",
    "models": _NOT_SET,
}

UNSUPPORTED_DEPLOY_KEYS = {
    "mode": "a swarm setting; one container is one container",
    "placement": "a swarm setting; choose the host with host:",
    "update_config": "a swarm setting; reconcile replaces healthy-first",
    "rollback_config": "a swarm setting; reconcile keeps the old container until the new one is healthy",
    "restart_policy": "use restart: (no, always, unless-stopped, on-failure[:N])",
    "endpoint_mode": "a swarm setting",
    "labels": "a swarm setting (service labels); use labels: for the container's",
}

UNSUPPORTED_SECTIONS = {
    "services": "put each service under containers: (same fields)",
    "include": "put the included files' services in the desired-state directory; every *.yaml in it is read",
    "name": "remove it: reconcile has no project name (containers are found by its labels)",
}


def section_problem(section: str, value: Any) -> str | None:
    """A top-level key compose has and the state format does not: what to do instead, or None."""
    if section in UNSUPPORTED_SECTIONS:
        return f"not supported: top-level {section} — {UNSUPPORTED_SECTIONS[section]}"
    if section == "version" and isinstance(value, str):
        return "version: compose's version key is obsolete; remove it (or write version: 1, this format's version)"
    return None


def is_extension(key: object) -> bool:
    return isinstance(key, str) and key.startswith("x-")


class _Preparer:
    def __init__(self, source: SourceMap, fallback: Position, repository: FsPath) -> None:
        self.repository = repository.resolve()  # what a file the state reads must stay in
        self.source = source
        self.fallback = fallback
        self.problems: list[Diagnostic] = []
        self.directories: dict[str, FsPath] = {}  # each state file's directory, resolved once

    def report(self, path: Path, message: str, on_key: bool = True) -> None:
        position = self.source.nearest(path, prefer_key=on_key) or self.fallback
        self.problems.append(position.diagnostic(f"{dotted(path)}: {message}"))

    def directory_of(self, path: Path) -> FsPath:
        file = (self.source.nearest(path) or self.fallback).file
        if file not in self.directories:
            self.directories[file] = FsPath(file).parent.resolve()
        return self.directories[file]

    def container(self, name: str, spec: dict[str, Any]) -> None:
        here: Path = ("containers", name)
        for key in [k for k in spec if is_extension(k)]:
            del spec[key]
        for key in [k for k in spec if k in UNSUPPORTED_SERVICE_KEYS and not (k == "build" and "image" in spec)]:
            self.report((*here, key), f"not supported: {key} — {UNSUPPORTED_SERVICE_KEYS[key]}")
            del spec[key]
        deploy = spec.get("deploy")
        if isinstance(deploy, dict):
            for key in [k for k in deploy if k in UNSUPPORTED_DEPLOY_KEYS]:
                self.report((*here, "deploy", key), f"not supported: deploy.{key} — {UNSUPPORTED_DEPLOY_KEYS[key]}")
                del deploy[key]
            reservations = (
                (deploy.get("resources") or {}).get("reservations") if isinstance(deploy.get("resources"), dict) else None
            )
            if isinstance(reservations, dict) and "devices" in reservations:
                self.report(
                    (*here, "deploy", "resources", "reservations", "devices"),
                    "not supported: device reservations (GPUs) — run that container outside reconcile for now",
                )
                del reservations["devices"]
        base = self.directory_of(here)
        self._volumes(spec, base)
        self._env_files(spec, base, here)
        self._labels(spec)

    def _volumes(self, spec: dict[str, Any], base: FsPath) -> None:
        volumes = spec.get("volumes")
        if not isinstance(volumes, list):
            return
        for index, item in enumerate(volumes):
            if isinstance(item, str) and ":" in item:
                source, sep, rest = item.partition(":")
                volumes[index] = f"{_absolute(source, base)}{sep}{rest}"
            elif isinstance(item, dict) and item.get("type") == "bind" and isinstance(item.get("source"), str):
                item["source"] = _absolute(item["source"], base)

    def _env_files(self, spec: dict[str, Any], base: FsPath, here: Path) -> None:
        """Each env_file made absolute; one outside the repository (absolute, ``~``, escaping by
        ``..`` or through a symlink) is an error at its place, and is left out: never read."""
        files = spec.get("env_file")
        items = [files] if isinstance(files, str) else files if isinstance(files, list) else []
        kept = []
        for index, item in enumerate(items):
            path = item.get("path") if isinstance(item, dict) else item
            if not isinstance(path, str):
                kept.append(item)
                continue
            at = (*here, "env_file") if isinstance(files, str) else (*here, "env_file", index)
            inside = self._inside_repository(path, base)
            if inside is None:
                self.report(
                    at,
                    f"env_file {path!r} is outside the repository: write a path relative to this file, inside {self.repository}",
                    on_key=False,
                )
                continue
            kept.append({**item, "path": inside} if isinstance(item, dict) else inside)
        if isinstance(files, str):
            if kept:
                spec["env_file"] = kept[0]
            else:
                del spec["env_file"]
        elif isinstance(files, list):
            spec["env_file"] = kept

    def _inside_repository(self, path: str, base: FsPath) -> str | None:
        """``path`` (relative to ``base``) made absolute, or None when it is not a relative path
        that stays in the repository once ``..`` and symlinks are followed."""
        if path.startswith("~") or os.path.isabs(path):
            return None
        absolute = os.path.normpath(base / path)
        if not FsPath(absolute).resolve().is_relative_to(self.repository):
            return None
        return absolute

    def _labels(self, spec: dict[str, Any]) -> None:
        """Compose's `- key` and `key:` (no value) are labels with an empty value."""
        labels = spec.get("labels")
        if isinstance(labels, list):
            spec["labels"] = [f"{item}=" if isinstance(item, str) and "=" not in item else item for item in labels]
        elif isinstance(labels, dict):
            for key in [k for k, v in labels.items() if v is None]:
                labels[key] = ""

    def volume(self, name: str, spec: dict[str, Any]) -> None:
        for key in [k for k in spec if is_extension(k)]:
            del spec[key]
        self._labels(spec)

    def config(self, name: str, spec: dict[str, Any]) -> None:
        self._file_source("configs", name, spec, "give the config's file: (in the repository), content: or environment:")

    def secret(self, name: str, spec: dict[str, Any]) -> None:
        self._file_source(
            "secrets", name, spec, "give the secret's file: (in the repository), environment:, aws_ssm: or aws_secretsmanager:"
        )

    def _file_source(self, section: str, name: str, spec: dict[str, Any], remedy: str) -> None:
        """A config's or secret's file: made absolute; one outside the repository is an error, never
        read. Compose's keys for swarm and external stores are refused."""
        for key in [k for k in spec if is_extension(k)]:
            del spec[key]
        for key in [k for k in spec if k in ("external", "name", "template_driver", "driver", "driver_opts")]:
            self.report((section, name, key), f"not supported: {key} — {remedy}")
            del spec[key]
            if not set(spec) & {"file", "content", "environment", "aws_ssm", "aws_secretsmanager"}:
                spec["environment" if section == "secrets" else "content"] = "" if section == "configs" else "UNSET"
        path = spec.get("file")
        if not isinstance(path, str):
            return
        inside = self._inside_repository(path, self.directory_of((section, name)))
        if inside is None:
            self.report(
                (section, name, "file"),
                f"file {path!r} is outside the repository: write a path relative to this file, inside {self.repository}",
                on_key=False,
            )
            del spec["file"]
            spec["environment" if section == "secrets" else "content"] = "" if section == "configs" else "UNSET"
            return  # reported: the state is refused, nothing is read
        if not FsPath(inside).is_file():
            self.report((section, name, "file"), f"no file {path!r} (relative to this file)", on_key=False)
        elif FsPath(inside).stat().st_size > MAX_CONFIG_BYTES:
            self.report(
                (section, name, "file"), f"{path!r} is over {MAX_CONFIG_BYTES // 1024} KiB: bake it into the image",
                on_key=False,
            )  # fmt: skip
        spec["file"] = inside

    def network(self, name: str, spec: dict[str, Any]) -> None:
        for key in [k for k in spec if is_extension(k)]:
            del spec[key]
        if spec.get("name") == name:
            del spec["name"]  # compose's way to keep the project prefix off: there is none here
        elif "name" in spec:
            self.report(("networks", name, "name"), "not supported: name — the key under networks: is the engine's name")
            del spec["name"]
        for key in ("ipam", "config"):
            if key in spec:
                self.report(("networks", name, key), f"not supported: {key} — let the engine choose the subnet")
                del spec[key]


def _absolute(source: str, base: FsPath) -> str:
    if source.startswith(("./", "../")) or source in (".", ".."):
        return os.path.normpath(base / source)
    if source.startswith("~"):
        return os.path.expanduser(source)
    return source


def prepare(document: dict[str, Any], source: SourceMap, fallback: Position, repository: FsPath) -> list[Diagnostic]:
    """Rewrite ``document`` in place as described above; the problems found, located. Files the
    state names to read (env_file) must be inside ``repository``."""
    preparer = _Preparer(source, fallback, repository)
    handlers = (
        ("containers", preparer.container), ("networks", preparer.network), ("volumes", preparer.volume),
        ("configs", preparer.config), ("secrets", preparer.secret),
    )  # fmt: skip
    for section, handle in handlers:
        resources = document.get(section)
        if isinstance(resources, dict):
            for key in [k for k in resources if is_extension(k)]:
                del resources[key]
            if section == "networks":
                for key in [k for k, v in resources.items() if v is None]:
                    resources[key] = {}  # compose's `name:` with no settings
            for name, spec in resources.items():
                if isinstance(spec, dict):
                    handle(name, spec)
    return preparer.problems
