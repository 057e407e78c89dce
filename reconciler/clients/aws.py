"""Connections to AWS and the translation of their errors. No decisions are made here.

Credentials, profile and endpoint come from the standard AWS environment (AWS_PROFILE,
AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, …), so a local emulator is only an environment variable.
Every client uses botocore's standard retry mode; callers use paginators for listings.

boto3 (its sessions, loaders and service models) is imported by the first `connect`, so a state
without AWS resources never loads it; botocore's exception classes alone are imported here."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from reconciler.errors import ReconcileError

if TYPE_CHECKING:
    import boto3.session
    import botocore.config

ClientError = botocore.exceptions.ClientError
BotoCoreError = botocore.exceptions.BotoCoreError

_session_lock = threading.Lock()


class AwsUnavailable(ReconcileError):
    """AWS (or the emulator AWS_ENDPOINT_URL names) cannot be reached, or refuses our credentials."""


def client_config(pool_size: int = 10) -> botocore.config.Config:
    import botocore.config

    return botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max(10, pool_size),
        connect_timeout=10,
        read_timeout=60,
    )


_ENVIRONMENT = (
    "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULT_REGION",
)  # fmt: skip
_sessions: dict[tuple[str | None, ...], boto3.session.Session] = {}


def _session() -> boto3.session.Session:
    """One session per AWS environment, shared: it loads each service's model and resolves the
    credentials once, where a session per client would do both for every client. The caller holds
    _session_lock (sessions are not thread-safe; the clients they make are)."""
    import boto3.session

    key = tuple(os.environ.get(name) for name in _ENVIRONMENT)
    if key not in _sessions:
        _sessions[key] = boto3.session.Session()
    return _sessions[key]


def connect(service: str, region: str, pool_size: int = 10) -> Any:
    """A boto3 client for ``service`` in ``region``, thread-safe, with standard retries."""
    try:
        with _session_lock:
            return _session().client(service, region_name=region, config=client_config(pool_size))
    except BotoCoreError as error:
        raise AwsUnavailable(f"cannot make an AWS {service} client for {region}: {error}") from None


BODY_READS = 3  # a reset while an answer's body streams in is not retried by botocore: we do, this often


def object_body(client: Any, bucket: str, key: str) -> tuple[bytes, str]:
    """An S3 object's body and ETag. botocore retries a call that failed, but not the reading of a
    body cut short (a connection reset mid-body); that is retried here with a new GetObject."""
    for attempt in range(1, BODY_READS + 1):
        answer = client.get_object(Bucket=bucket, Key=key)
        try:
            return answer["Body"].read(), str(answer["ETag"])
        except botocore.exceptions.ResponseStreamingError:
            if attempt == BODY_READS:
                raise
    raise AssertionError("unreachable")


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError ('NoSuchBucket', 'InsufficientInstanceCapacity'), else ''."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(error: BaseException) -> int:
    if isinstance(error, ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return 0


def retried(error: BaseException) -> bool:
    """botocore sent the call more than once before this answer: an earlier attempt may have taken
    effect though its answer was lost (a delete answered "no such key" was then our own)."""
    if isinstance(error, ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) > 0
    return False


def explain(error: BaseException) -> str:
    """One line a user can act on, from any botocore error."""
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        code = detail.get("Code", "error")
        message = detail.get("Message") or ""
        operation = getattr(error, "operation_name", "")
        where = f" ({operation})" if operation else ""
        return f"{code}{where}: {message}".rstrip(": ")
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach AWS at {error.kwargs.get('endpoint_url', 'its endpoint')} (is AWS_ENDPOINT_URL right?)"
    return str(error)
