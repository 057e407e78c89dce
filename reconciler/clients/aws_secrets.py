"""The AWS secret stores a secret may come from: SSM Parameter Store and Secrets Manager. Plan reads
only a secret's version (DescribeParameters, DescribeSecret: no value, not even encrypted); apply
reads the value of that version (GetParameter with decryption, GetSecretValue). No decisions here."""

from __future__ import annotations

import json
from typing import Any

from reconciler.clients.aws import BotoCoreError, ClientError
from reconciler.errors import ReconcileError

NOT_ALLOWED = ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId")


class NoCredentials(ReconcileError):
    """This process may not read the store (no credentials, or not allowed): the version is known at apply."""


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _said(what: str, error: Exception) -> ReconcileError:
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.NoCredentialsError) or (
        isinstance(error, ClientError) and _error_code(error) in NOT_ALLOWED
    ):
        return NoCredentials(f"{what}: cannot be read with this process's AWS credentials")
    if isinstance(error, ClientError):
        return ReconcileError(f"{what}: {_error_code(error)}: {error.response.get('Error', {}).get('Message', '')}")
    return ReconcileError(f"{what}: {error}")


def ssm_names(name: str) -> list[str]:
    """The names a parameter given by name or ARN may have (an ARN drops a name's leading slash)."""
    if not name.startswith("arn:"):
        return [name]
    tail = name.split(":parameter", 1)[1]
    return [tail, tail.lstrip("/")] if tail.count("/") == 1 else [tail]


def ssm_version(client: Any, name: str) -> str:
    """``version N (LAST-MODIFIED)`` of a parameter, read without its value."""
    what = f"SSM parameter {name}"
    try:
        found = client.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": ssm_names(name)}]).get(
            "Parameters", []
        )
    except (ClientError, BotoCoreError) as error:
        raise _said(what, error) from None
    if not found:
        raise ReconcileError(f"{what}: not found")
    parameter = found[0]
    modified = parameter.get("LastModifiedDate")
    when = f" ({modified.isoformat(timespec='seconds')})" if modified is not None else ""
    return f"version {parameter['Version']}{when}"


def ssm_value(client: Any, name: str, version: str) -> bytes:
    """The decrypted value of ``version`` (as ssm_version says it)."""
    number = version.split()[1]
    try:
        answer = client.get_parameter(Name=f"{name}:{number}", WithDecryption=True)
    except (ClientError, BotoCoreError) as error:
        raise _said(f"SSM parameter {name}", error) from None
    return str(answer["Parameter"]["Value"]).encode()


def secretsmanager_version(client: Any, secret_id: str) -> str:
    """``version ID`` of the version AWSCURRENT names, read without its value."""
    what = f"Secrets Manager secret {secret_id}"
    try:
        described = client.describe_secret(SecretId=secret_id)
    except (ClientError, BotoCoreError) as error:
        raise _said(what, error) from None
    current = [v for v, stages in (described.get("VersionIdsToStages") or {}).items() if "AWSCURRENT" in stages]
    if not current:
        raise ReconcileError(f"{what}: no version is AWSCURRENT")
    return f"version {current[0]}"


def secretsmanager_value(client: Any, secret_id: str, version: str, key: str | None) -> bytes:
    """The value of ``version`` (as secretsmanager_version says it), or of one key of its JSON."""
    what = f"Secrets Manager secret {secret_id}"
    try:
        answer = client.get_secret_value(SecretId=secret_id, VersionId=version.split()[1])
    except (ClientError, BotoCoreError) as error:
        raise _said(what, error) from None
    if key is None:
        text = answer.get("SecretString")
        return text.encode() if isinstance(text, str) else bytes(answer.get("SecretBinary") or b"")
    try:
        document = json.loads(answer.get("SecretString") or "")
    except ValueError:
        raise ReconcileError(f"{what}: key {key!r} asked for, but its value is not JSON") from None
    if not isinstance(document, dict) or key not in document:
        raise ReconcileError(f"{what}: its JSON value has no key {key!r}")
    item = document[key]
    return (item if isinstance(item, str) else json.dumps(item)).encode()
