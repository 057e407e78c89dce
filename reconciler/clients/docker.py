"""Connections to Docker engines and the translation of their errors. No decisions are made here."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.utils import kwargs_from_env

from reconciler.errors import ReconcileError
from reconciler.model.sensitive import REDACTED, Sensitive, reveal
from reconciler.model.spec import Host

NotFound = docker.errors.NotFound
APIError = docker.errors.APIError


class DockerUnavailable(ReconcileError):
    """A host's engine cannot be reached; only that host's resources fail."""


def engine_url(host: Host) -> str | None:
    return None if host.docker is None else reveal(host.docker)


def shown_url(host: Host) -> str:
    if host.docker is None:
        return "DOCKER_HOST or the local socket"
    return REDACTED if isinstance(host.docker, Sensitive) else host.docker


def connect(name: str, host: Host, pool_size: int) -> docker.APIClient:
    """A low-level client for ``host`` (its URL, else DOCKER_HOST, else the local socket), with a
    connection pool large enough for the run's parallelism."""
    url = engine_url(host)
    try:
        if url is None:
            params = kwargs_from_env()
            return docker.APIClient(version="auto", max_pool_size=pool_size, timeout=120, **params)
        return docker.APIClient(base_url=url, version="auto", max_pool_size=pool_size, timeout=120)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise DockerUnavailable(f"host {name}: cannot reach the Docker engine at {shown_url(host)}: {explain(error)}") from None


def explain(error: BaseException) -> str:
    """One line a user can act on, from whatever the SDK raised."""
    if isinstance(error, docker.errors.APIError):
        return str(error.explanation or error).strip()
    text = str(error).strip().splitlines()
    message = text[-1] if text else type(error).__name__
    for needle, meaning in (
        ("FileNotFoundError", "no such socket"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied"),
        ("timed out", "timed out"),
    ):
        if needle in str(error):
            return meaning
    return message


def inspect_image(client: docker.APIClient, reference: str) -> dict[str, Any] | None:
    """The image's inspect record, or None when it is not on the host (never pulls)."""
    try:
        record: dict[str, Any] = client.inspect_image(reference)  # type: ignore[no-untyped-call]
    except docker.errors.NotFound:
        return None
    return record


def update_resources(client: docker.APIClient, container_id: str, body: dict[str, Any]) -> None:
    """POST /containers/{id}/update with any of RestartPolicy, Memory, MemorySwap, NanoCpus (the
    SDK's update_container has no NanoCpus)."""
    response = client.post(f"{client.base_url}/v{client.api_version}/containers/{container_id}/update", json=body)
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise docker.errors.APIError(message, response=response, explanation=message)
