"""The state lock in S3 (settings.lock: s3://BUCKET/KEY): one object, written only if none exists
(a conditional put, If-None-Match: *), holding its holder's identity; removed at the end only if it
is still the one we wrote (a conditional delete on its ETag)."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from reconciler.clients.aws import BotoCoreError, ClientError, connect, error_code, explain, object_body, retried
from reconciler.errors import LockHeld, ReconcileError

POLL_SECONDS = 1.0
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}  # someone holds it / is writing it now


class NotUnlocked(ReconcileError):
    """force-unlock found no lock with that id (none held, or another holder's)."""


def parse_lock_url(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def lock_region(state_region: str | None) -> str:
    """The state's aws.region, else the AWS environment's region, else us-east-1 (S3 follows a
    bucket's real region by itself)."""
    return state_region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def describe(holder: dict[str, Any]) -> str:
    said = f"{holder.get('host')} pid {holder.get('pid')} since {holder.get('started')} (lock id {holder.get('id')})"
    if _dead_here(holder):
        said += f", a process that no longer runs: remove its lock with `reconcile force-unlock {holder.get('id')}`"
    return said


def _dead_here(holder: dict[str, Any]) -> bool:
    """The holder ran on this machine and its process is gone (a killed apply)."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class S3Lock:
    def __init__(self, url: str, region: str, timeout_seconds: float, say: Callable[[str], None]) -> None:
        self.url = url
        self.bucket, self.key = parse_lock_url(url)
        self.client = connect("s3", region)
        self.timeout = timeout_seconds
        self.say = say
        self.id = uuid.uuid4().hex
        self.etag: str | None = None

    def _failure(self, doing: str, error: BaseException) -> ReconcileError:
        if error_code(error) == "NoSuchBucket":
            return ReconcileError(f"the lock bucket {self.bucket} does not exist (settings.lock: {self.url}); create it first")
        return ReconcileError(f"cannot {doing} the lock {self.url}: {explain(error)}")

    def holder(self) -> tuple[dict[str, Any], str] | None:
        """The lock object's holder and ETag, None if there is no lock."""
        try:
            body, etag = object_body(self.client, self.bucket, self.key)
        except ClientError as error:
            if error_code(error) == "NoSuchKey":
                return None
            raise self._failure("read", error) from None
        except BotoCoreError as error:
            raise self._failure("read", error) from None
        try:
            holder = json.loads(body)
        except ValueError:
            holder = {}
        return (holder if isinstance(holder, dict) else {}), etag

    def _try_put(self) -> bool:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        body = json.dumps({"id": self.id, "host": socket.gethostname(), "pid": os.getpid(), "started": started})
        try:
            answer = self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=body.encode(), IfNoneMatch="*", ContentType="application/json"
            )
        except ClientError as error:
            if error_code(error) in CONFLICT_CODES:
                return self._ours_already()
            raise self._failure("write", error) from None
        except BotoCoreError as error:
            raise self._failure("write", error) from None
        self.etag = str(answer["ETag"])
        return True

    def _ours_already(self) -> bool:
        """The lock exists: is it the one we just wrote? (A put that took effect and whose answer was
        lost is retried, and the retry finds our own lock: its body holds our lock id.)"""
        found = self.holder()
        if found is None or found[0].get("id") != self.id:
            return False
        self.etag = found[1]
        return True

    def _held_by(self) -> str:
        found = self.holder()
        if found is None:
            return "another apply (it was just released)"
        if "id" not in found[0]:
            return (
                "a lock object without a holder reconcile can read (damaged, or not written by reconcile); "
                f"if no apply runs, remove it yourself (aws s3 rm {self.url})"
            )
        return describe(found[0])

    def __enter__(self) -> S3Lock:
        deadline = time.monotonic() + self.timeout
        if self._try_put():
            return self
        if self.timeout <= 0:
            raise LockHeld(f"the state is locked by {self._held_by()} ({self.url}); try again later, or wait with --lock-timeout")
        self.say(f"waiting for the lock held by {self._held_by()} ({self.url})")
        while time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            if self._try_put():
                return self
        raise LockHeld(f"the state is still locked by {self._held_by()} after {self.timeout:.0f}s ({self.url})")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        """Release only our own lock; a failure to release is said, never raised over the apply's result."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except ClientError as failure:
            if error_code(failure) == "NoSuchKey" and retried(failure):
                return  # our first delete took effect, its answer was lost: the retry found it gone
            if error_code(failure) == "NoSuchKey":
                self.say(f"the lock {self.url} was already removed (force-unlock?)")
            elif error_code(failure) == "PreconditionFailed":
                self.say(f"the lock {self.url} is no longer ours (force-unlocked and taken by {self._held_by()}); left as it is")
            else:
                self._not_released(failure)
        except BotoCoreError as failure:
            self._not_released(failure)

    def _not_released(self, failure: BaseException) -> None:
        command = f"reconcile force-unlock {self.id}"
        self.say(f"could not release the lock {self.url}: {explain(failure)}; remove it with `{command}`")


def force_unlock_s3(url: str, region: str, lock_id: str) -> str:
    """Remove the lock object if, and only if, it holds `lock_id` and has not changed since read."""
    lock = S3Lock(url, region, 0, lambda _: None)
    found = lock.holder()
    if found is None:
        raise NotUnlocked(f"the state is not locked ({url} does not exist)")
    holder, etag = found
    if holder.get("id") != lock_id:
        raise NotUnlocked(f"the lock {url} is held by {describe(holder)}, not by lock id {lock_id}; nothing removed")
    try:
        lock.client.delete_object(Bucket=lock.bucket, Key=lock.key, IfMatch=etag)
    except ClientError as error:
        if error_code(error) in ("PreconditionFailed", "NoSuchKey"):
            raise NotUnlocked(f"the lock {url} changed while it was being removed; nothing removed") from None
        raise lock._failure("remove", error) from None
    except BotoCoreError as error:
        raise lock._failure("remove", error) from None
    return f"removed the lock {url} held by {describe(holder)}"
