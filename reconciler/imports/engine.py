"""Read the unmanaged containers of the state's Docker hosts (read-only) and turn each into its
declaration. Managed containers (our labels), adopted ones, the temporary containers of a replace
and names the state already declares are left out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import requests.exceptions

from reconciler.clients.adoptions import RECORD as ADOPTED
from reconciler.clients.adoptions import AdoptionLedger
from reconciler.clients.backend import open_backend
from reconciler.clients.docker import connect, explain, inspect_image
from reconciler.clients.records import Record
from reconciler.errors import ReconcileError
from reconciler.imports.containers import ImportedContainer, import_container
from reconciler.imports.mounted_files import file_targets
from reconciler.kinds.container.recovery import REPLACEMENT_SUFFIX
from reconciler.kinds.container.view import ImageDefaults
from reconciler.kinds.identity import MANAGED
from reconciler.model.spec import State

PARALLELISM = 8


@dataclass
class HostImport:
    host: str
    containers: list[ImportedContainer] = field(default_factory=list)
    already_declared: list[str] = field(default_factory=list)


def chosen_hosts(state: State, host: str | None) -> list[str]:
    if host is None:
        return list(state.hosts)
    if host not in state.hosts:
        raise ReconcileError(f"--host {host}: no such host in the desired state (hosts: {', '.join(state.hosts)})")
    return [host]


def import_host(state: State, state_dir: Path, host: str) -> HostImport:
    client = connect(host, state.hosts[host], PARALLELISM)
    try:
        return _read_host(client, state, state_dir, host)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise ReconcileError(f"host {host}: cannot read its containers: {explain(error)}") from None
    finally:
        client.close()


def _read_host(client: docker.APIClient, state: State, state_dir: Path, host: str) -> HostImport:
    listing: list[dict[str, Any]] = client.containers(all=True)
    adoptions = AdoptionLedger(Record(open_backend(state.settings, state_dir, state.aws.region), ADOPTED))
    declared = {name for name, spec in state.containers.items() if spec.host == host}
    result = HostImport(host)
    candidates = []
    for summary in listing:
        name = (summary.get("Names") or ["/" + summary["Id"][:12]])[0].lstrip("/")
        labels = summary.get("Labels") or {}
        if labels.get(MANAGED) == "true" or name.endswith(REPLACEMENT_SUFFIX):
            continue
        if adoptions.address_of(host, summary["Id"]) is not None:
            continue
        if name in declared:
            result.already_declared.append(name)
            continue
        candidates.append(summary["Id"])
    with ThreadPoolExecutor(max_workers=PARALLELISM) as pool:
        records = [record for record in pool.map(lambda ref: _inspect(client, ref), candidates) if record is not None]
        image_ids = sorted({record["Image"] for record in records})
        images = dict(zip(image_ids, pool.map(lambda ref: inspect_image(client, ref), image_ids), strict=True))
    log_driver = str(client.info().get("LoggingDriver", "json-file"))
    names_by_id = {s["Id"]: (s.get("Names") or ["/"])[0].lstrip("/") for s in listing}
    for record in sorted(records, key=lambda r: str(r["Name"])):
        image = images.get(record["Image"])
        defaults = ImageDefaults.from_inspect(image) if image else None
        files = file_targets(client, record)
        result.containers.append(import_container(record, defaults, log_driver, names_by_id, files))
    return result


def _inspect(client: docker.APIClient, container_id: str) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = client.inspect_container(container_id)
    except docker.errors.NotFound:
        return None  # removed since the listing
    return record
