"""An inspected container → the declaration that describes it (pure). Only what differs from what
the image (and the engine's logging default) would give anyway is declared; the declaration is then
read back through the container kind's own field table, so an import that would not adopt cleanly
says which fields still differ instead of promising a no-op."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from reconciler.imports.compose import compose_fields
from reconciler.imports.mounted_files import MountedFiles, mounted_files, without_files
from reconciler.kinds.container.view import ImageDefaults, compare, desired_view, env_dict, observed_view
from reconciler.model.sensitive import Sensitive
from reconciler.model.spec import Container
from reconciler.units import format_duration

HEALTH_FIELDS = ("test", "interval", "timeout", "retries", "start_period", "start_interval")


@dataclass(frozen=True)
class ImportedContainer:
    name: str
    spec: dict[str, Any]  # as the YAML will hold it; environment values are Sensitive (the real ones)
    differs: list[str] = field(default_factory=list)  # fields a plan would still show as changes
    problem: str | None = None  # set when the container cannot be declared at all
    files: MountedFiles = field(default_factory=MountedFiles)  # its bind-mounted files, as configs and secrets


def import_container(
    record: dict[str, Any],
    image: ImageDefaults | None,
    log_driver: str,
    names_by_id: dict[str, str],
    file_targets: frozenset[str] = frozenset(),
) -> ImportedContainer:
    name = record["Name"].lstrip("/")
    seen = observed_view(record, image, names_by_id)
    bare = desired_view(Container.model_validate({"image": seen["image"]}), image, log_driver)
    spec: dict[str, Any] = {"image": seen["image"]}
    spec.update(_command_and_entrypoint(seen, bare))
    environment = {
        key: Sensitive(value) for key, value in env_dict((record.get("Config") or {}).get("Env") or []).items()
        if (image.env if image else {}).get(key) != value
    }  # fmt: skip
    if environment:
        spec["environment"] = environment
    files = mounted_files(name, seen["volumes"], file_targets)
    for key in ("ports", "volumes", "labels"):
        if seen[key]:
            spec[key] = seen[key]
    if files.targets:
        spec["volumes"] = without_files(seen["volumes"], files)
        spec.update(files.mounts)
    if seen["restart"] != "no":
        spec["restart"] = seen["restart"]
    healthcheck = _healthcheck(seen, bare)
    if healthcheck:
        spec["healthcheck"] = healthcheck
    if seen["logging.driver"] != bare["logging.driver"] or seen["logging.options"]:
        spec["logging"] = {
            "driver": seen["logging.driver"],
            **({"options": seen["logging.options"]} if seen["logging.options"] else {}),
        }
    spec["network_mode"] = seen["network_mode"]  # bridge too: a container that names none joins the default network
    if seen["mem_limit"] is not None:
        spec["mem_limit"] = _size(seen["mem_limit"])
    if seen["cpus"] is not None:
        spec["cpus"] = seen["cpus"]
    for key in ("user", "stop_signal"):
        if seen[key] != bare[key] and seen[key] is not None:
            spec[key] = seen[key]
    if seen["init"]:
        spec["init"] = True
    if seen["stop_grace_period"] is not None:
        spec["stop_grace_period"] = f"{seen['stop_grace_period']}s"
    if seen["state"] == "stopped":
        spec["state"] = "stopped"
    published = {f"{p.rsplit(':', 1)[-1].split('/')[0]}/{p.split('/')[1] if '/' in p else 'tcp'}" for p in seen["ports"]}
    spec.update(compose_fields(seen, bare, published))
    return _checked(name, spec, image, log_driver, seen, files)


def _command_and_entrypoint(seen: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    """The engine inherits the image's CMD only when the ENTRYPOINT is inherited too."""
    declared: dict[str, Any] = {}
    if seen["entrypoint"] != bare["entrypoint"]:
        declared["entrypoint"] = seen["entrypoint"] or []
        if seen["command"] is not None:
            declared["command"] = seen["command"]
    elif seen["command"] != bare["command"]:
        declared["command"] = seen["command"] or []
    return declared


def _size(size: int) -> int | str:
    """Bytes as the largest binary unit that holds them exactly (64 MiB → "64MiB")."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return size


def _healthcheck(seen: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    declared: dict[str, Any] = {}
    for name in HEALTH_FIELDS:
        value = seen[f"healthcheck.{name}"]
        if value is None or value == bare[f"healthcheck.{name}"]:
            continue
        if name == "retries" or name == "test":
            declared[name] = value
        else:
            declared[name] = format_duration(timedelta(seconds=value))
    return declared


def _checked(
    name: str,
    spec: dict[str, Any],
    image: ImageDefaults | None,
    log_driver: str,
    seen: dict[str, Any],
    files: MountedFiles,
) -> ImportedContainer:
    try:
        container = Container.model_validate({k: v for k, v in spec.items() if k not in ("configs", "secrets")})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in error.errors())
        return ImportedContainer(name, spec, problem=f"cannot be declared in the desired-state format ({problems})")
    view = {**desired_view(container, image, log_driver), "volumes": sorted(seen["volumes"])} if files.targets else None
    differs = compare(view or desired_view(container, image, log_driver), seen)
    return ImportedContainer(name, spec, sorted({change.path.partition(".")[0] for change in differs}), files=files)
