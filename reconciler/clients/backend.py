"""Where a state keeps its records (adoptions, the restart ledger, the commit last applied, the apply
journal) and its lock: `settings.backend`.

- omitted: the state directory itself, as `DIR/.reconcile.*` files (git-ignored; the behaviour from
  before backends existed, file names unchanged). A file git tracks, or any file in an unpacked
  pull request's tree, is never read as a record: whoever can open a pull request could forge it;
- `s3://BUCKET/PREFIX`: one object per record under PREFIX (and the lock, PREFIX/lock), so that a
  fresh checkout (a CI runner) plans exactly like the directory that applied.

Every write is a compare-and-swap: it names the version it read (an S3 ETag, a file's digest) and
is refused (RecordConflict) when the record changed since, or, for a new record, when one appeared.
A record that is absent reads as None; one that is there but damaged is a DamagedRecord naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from reconciler.clients.records import RecordConflict, Stored, parsed, write_record
from reconciler.errors import ReconcileError

FILE_NAMES = {
    "adopted": ".reconcile.adopted.json",
    "restarts": ".reconcile.restarts.json",
    "applied": ".reconcile.applied",
    "journal": ".reconcile.journal.json",
}
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


class Backend(Protocol):
    url: str  # where it is, for messages

    def read(self, name: str) -> Stored | None:
        """The record, or None when there is none yet; DamagedRecord when it is there and damaged."""
        ...

    def where(self, name: str) -> str:
        """The record's file or object, for messages."""
        ...

    def write(self, name: str, document: Any, version: str | None) -> str:
        """Write the record only if it is still at ``version`` (None: only if there is none); returns
        the new version. Raises RecordConflict otherwise."""
        ...


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class DirectoryBackend:
    """DIR/.reconcile.* files, written atomically (os.replace) under the state's file lock; what a
    commit or a pull request put there reads as no record."""

    def __init__(self, state_dir: Path) -> None:
        from reconciler.pr_tree import unpacked_root

        self.state_dir = state_dir
        self.url = str(state_dir)
        self._lock = threading.Lock()
        self._untrusted = unpacked_root(state_dir) is not None
        self._tracked: dict[str, bool] = {}  # name → git tracks its file: asked once a run, not at every write

    def path(self, name: str) -> Path:
        return self.state_dir / FILE_NAMES[name]

    def where(self, name: str) -> str:
        return str(self.path(name))

    def _raw(self, name: str) -> bytes | None:
        """The record's bytes, unless a commit or a pull request put the file there."""
        if self._untrusted:
            return None
        body = self._bytes(name)
        if body is None:
            return None
        from reconciler.gitinfo import tracked  # only for a record file that is there

        if name not in self._tracked:  # `git ls-files`: ~50 ms; the journal is written twice per create
            self._tracked[name] = tracked(self.path(name))
        return None if self._tracked[name] else body

    def _bytes(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ReconcileError(f"cannot read the record {self.path(name)}: {error.strerror or error}") from None

    def read(self, name: str) -> Stored | None:
        body = self._raw(name)
        return None if body is None else Stored(parsed(name, self.where(name), body), _digest(body))

    def write(self, name: str, document: Any, version: str | None) -> str:
        with self._lock:
            current = self.read(name)
            if (current.version if current else None) != version:
                raise RecordConflict(name)
            write_record(self.path(name), document)
            return _digest(self._bytes(name) or b"")


class NoRecords:
    """No records at all: what the plan of a pull request reads when the base's backend is unknown."""

    url = "(none)"

    def read(self, name: str) -> Stored | None:
        return None

    def where(self, name: str) -> str:
        return f"(no record: {name})"

    def write(self, name: str, document: Any, version: str | None) -> str:
        raise ReconcileError("a plan of a pull request writes no record")


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://BUCKET/PREFIX → (BUCKET, PREFIX without slashes at either end)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def lock_url(url: str) -> str:
    """The lock object of the S3 backend at ``url``: PREFIX/lock."""
    bucket, prefix = parse_s3_url(url)
    return f"s3://{bucket}/{prefix}/lock" if prefix else f"s3://{bucket}/lock"


class S3Backend:
    """One JSON object per record under s3://BUCKET/PREFIX/, written with If-Match / If-None-Match."""

    def __init__(self, url: str, region: str, state_dir: Path | None = None) -> None:
        from reconciler.clients.aws import connect  # boto3 only for a state that uses S3

        self.url = url
        self.bucket, self.prefix = parse_s3_url(url)
        self.client = connect("s3", region)
        self.local = DirectoryBackend(state_dir) if state_dir is not None else None

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}.json" if self.prefix else f"{name}.json"

    def where(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"

    @property
    def lock_url(self) -> str:
        return lock_url(self.url)

    def _failure(self, doing: str, name: str, error: BaseException) -> ReconcileError:
        from reconciler.clients.aws import error_code, explain

        if error_code(error) == "NoSuchBucket":
            return ReconcileError(
                f"the backend bucket {self.bucket} does not exist (settings.backend: {self.url}); create it first"
            )
        return ReconcileError(f"cannot {doing} the record s3://{self.bucket}/{self.key(name)}: {explain(error)}")

    def read(self, name: str) -> Stored | None:
        from reconciler.clients.aws import BotoCoreError, ClientError, error_code, object_body

        try:
            body, etag = object_body(self.client, self.bucket, self.key(name))
        except ClientError as error:
            if error_code(error) == "NoSuchKey":
                return self._migrated(name)
            raise self._failure("read", name, error) from None
        except BotoCoreError as error:
            raise self._failure("read", name, error) from None
        return Stored(parsed(name, self.where(name), body), etag)

    def _migrated(self, name: str) -> Stored | None:
        """No such record in S3 yet: a state moving to the S3 backend starts from its local file, if
        any (no version: the first write creates the object, If-None-Match)."""
        found = self.local.read(name) if self.local is not None else None
        return Stored(found.document, "") if found is not None else None

    def write(self, name: str, document: Any, version: str | None) -> str:
        from reconciler.clients.aws import BotoCoreError, ClientError, error_code

        body = json.dumps(document, indent=1).encode()
        condition = {"IfMatch": version} if version else {"IfNoneMatch": "*"}
        try:
            answer = self.client.put_object(
                Bucket=self.bucket, Key=self.key(name), Body=body, ContentType="application/json", **condition
            )
        except ClientError as error:
            if error_code(error) in CONFLICT_CODES:
                raise RecordConflict(name) from None
            raise self._failure("write", name, error) from None
        except BotoCoreError as error:
            raise self._failure("write", name, error) from None
        return str(answer["ETag"])


def backend_region(state_region: str | None) -> str:
    """The state's aws.region, else the AWS environment's region, else us-east-1 (S3 follows a
    bucket's real region by itself)."""
    return state_region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def open_backend(settings: Any, state_dir: Path, aws_region: str | None) -> Backend:
    """The backend settings.backend names (the state directory when it names none)."""
    return backend_at(getattr(settings, "backend", None), state_dir, aws_region)


def backend_at(url: str | None, state_dir: Path, aws_region: str | None) -> Backend:
    """The backend at ``url`` (s3://BUCKET/PREFIX), or the state directory when there is none."""
    if url:
        return S3Backend(url, backend_region(aws_region), state_dir)
    return DirectoryBackend(state_dir)
