"""`reconcile import`: desired-state YAML for what exists and reconcile does not manage yet, written
so that `validate` accepts it and the next apply adopts it without replacing anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.imports.aws import AwsImport, import_aws
from reconciler.imports.engine import HostImport, chosen_hosts, import_host
from reconciler.imports.yaml_out import VariableNames, to_yaml, with_placeholders
from reconciler.model.spec import State


def import_yaml(state: State, state_dir: Path, host: str | None, aws: bool, say: Callable[[str], None]) -> str:
    """The YAML of every unmanaged container on the chosen hosts (and with ``aws``, every bucket
    and instance without our tag); ``say`` hears what was left out."""
    # with --aws, a state that declares no host and no container does not manage Docker (as its plan does not)
    aws_only = aws and host is None and state.hosts_implicit and not state.containers and not state.disk_budgets
    hosts = [] if aws_only else chosen_hosts(state, host)
    found = [import_host(state, state_dir, name) for name in hosts]
    for result in found:
        if result.already_declared:
            say(f"{result.host}: already declared, so not imported: {', '.join(sorted(result.already_declared))}")
    return render(found, len(state.hosts) > 1, import_aws(state, say) if aws else None)


def render(found: list[HostImport], several_hosts: bool, aws: AwsImport | None = None) -> str:
    names = VariableNames()
    containers: dict[str, Any] = {}
    files: dict[str, dict[str, Any]] = {}  # configs / secrets, as the containers' bind-mounted files give them
    copies: list[str] = []
    notes: list[str] = []
    for result in found:
        for imported in result.containers:
            if imported.problem:
                notes.append(f"not imported: container {imported.name} on {result.host}: {imported.problem}")
                continue
            if imported.name in containers:
                notes.append(f"not imported: container {imported.name} on {result.host}: the name is taken on another host")
                continue
            spec = dict(imported.spec)
            if "environment" in spec:
                spec["environment"] = with_placeholders(imported.name, spec["environment"], names)
            containers[imported.name] = {"host": result.host, **spec} if several_hosts else spec
            for section, entries in imported.files.sources.items():
                files.setdefault(section, {}).update(entries)
            copies += imported.files.copies
            if imported.differs:
                notes.append(
                    f"container {imported.name}: the format cannot say exactly what it runs; a plan will still show "
                    f"changes in: {', '.join(imported.differs)}"
                )
    header = [f"reconcile import: {len(containers)} unmanaged container(s) on {', '.join(r.host for r in found)}"]
    if not found:
        header = ["reconcile import: no Docker host (the state manages none)"]
    if aws is not None:
        header.append(f"and {len(aws.buckets)} S3 bucket(s), {len(aws.instances)} EC2 instance(s) without our tag")
        notes += aws.notes
    if names.used:
        header += [
            "Environment values are never printed: each is a ${VAR} placeholder for the value the container holds now",
            "(see `docker inspect NAME`). Export these variables before validate, plan or apply:",
            *(f"  {variable.name}  ({variable.resource})" for variable in names.used),
            "and declare the secret ones, so that they show as (sensitive) and plan needs none of them:",
            f"  settings: {{secrets: [{', '.join(variable.name for variable in names.used)}]}}",
        ]
    if copies:
        header += [
            "Files the containers bind-mount from their hosts are declared as configs (under /run/secrets/: secrets),",
            "delivered through the Engine API. Their contents are never printed: put each in the repository, at the",
            "file: it names (relative to this file in desired_state/; keep secrets/ out of git), e.g. with",
            *(f"  {copy}" for copy in copies),
            "The container is adopted as it runs; its first apply replaces it once, healthy-first, to deliver them.",
        ]
    header += notes
    sections: dict[str, dict[str, Any]] = {**files, "containers": containers}
    if aws is not None:
        sections.update(s3_buckets=aws.buckets, ec2_instances=aws.instances)
    return to_yaml(header, sections)
