"""The S3 state lock against moto's server (real HTTP through AWS_ENDPOINT_URL; moto honours
If-None-Match: * on put and If-Match on delete with 412 PreconditionFailed, as S3 does)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from reconciler.apply.lock import state_lock
from reconciler.apply.s3_lock import NotUnlocked, S3Lock, force_unlock_s3
from reconciler.clients.aws import ClientError
from reconciler.errors import LockHeld, ReconcileError
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws

URL = "s3://ops-state/reconcile.lock"


def lock(timeout: float = 0, said: list[str] | None = None) -> S3Lock:
    return S3Lock(URL, "us-east-1", timeout, (said if said is not None else []).append)


def lock_object(state_s3: Any) -> dict[str, Any] | None:
    try:
        return dict(json.loads(state_s3.get_object(Bucket="ops-state", Key="reconcile.lock")["Body"].read()))
    except ClientError:
        return None


def test_the_lock_object_names_its_holder_while_held_and_is_gone_after(state_s3: Any) -> None:
    with lock() as held:
        holder = lock_object(state_s3)
        assert holder is not None
        assert holder["id"] == held.id
        assert set(holder) == {"id", "host", "pid", "started"}
    assert lock_object(state_s3) is None


def test_settings_lock_chooses_the_s3_lock(state_s3: Any, tmp_path: Any) -> None:
    with state_lock(URL, tmp_path, "us-east-1", 0, print) as held:
        assert isinstance(held, S3Lock)
        assert lock_object(state_s3) is not None
    assert not (tmp_path / ".reconcile.lock.info").exists()


def test_a_second_apply_fails_at_once_naming_the_holder(state_s3: Any) -> None:
    said: list[str] = []
    with lock() as first, pytest.raises(LockHeld) as held, lock(said=said):
        pass
    assert said == []  # it never waited
    assert f"lock id {first.id}" in str(held.value)
    assert " pid " in str(held.value) and URL in str(held.value)


def test_a_second_apply_waits_then_fails_naming_the_holder(state_s3: Any) -> None:
    said: list[str] = []
    with lock() as first, pytest.raises(LockHeld) as held, lock(timeout=1, said=said):
        pass
    assert len(said) == 1 and said[0].startswith("waiting for the lock held by ") and f"lock id {first.id}" in said[0]
    assert str(held.value).startswith("the state is still locked by ") and f"lock id {first.id}" in str(held.value)


def test_a_second_apply_waits_until_the_first_releases(state_s3: Any) -> None:
    holding, release = threading.Event(), threading.Event()

    def first_apply() -> None:
        with lock():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=first_apply)
    holder.start()
    holding.wait(10)
    said: list[str] = []
    threading.Timer(0.5, release.set).start()
    with lock(timeout=10, said=said) as second:
        assert (lock_object(state_s3) or {}).get("id") == second.id
    holder.join()
    assert said and said[0].startswith("waiting for the lock held by ")
    assert lock_object(state_s3) is None


def test_force_unlock_removes_only_the_named_lock(state_s3: Any) -> None:
    dead = lock()
    dead.__enter__()  # a holder that died without releasing
    with pytest.raises(NotUnlocked, match=r"held by .* not by lock id wrong-id; nothing removed"):
        force_unlock_s3(URL, "us-east-1", "wrong-id")
    assert lock_object(state_s3) is not None
    assert force_unlock_s3(URL, "us-east-1", dead.id).startswith(f"removed the lock {URL} held by ")
    assert lock_object(state_s3) is None
    with pytest.raises(NotUnlocked, match="not locked"):
        force_unlock_s3(URL, "us-east-1", dead.id)


def test_a_holder_whose_lock_was_forced_and_retaken_leaves_the_new_lock_alone(state_s3: Any) -> None:
    said: list[str] = []
    old = lock(said=said)
    old.__enter__()
    force_unlock_s3(URL, "us-east-1", old.id)
    with lock() as new:
        old.__exit__(None, None, None)
        assert (lock_object(state_s3) or {}).get("id") == new.id
    assert said and "is no longer ours" in said[0]


def test_a_missing_lock_bucket_is_named(aws: MotoServer) -> None:
    with pytest.raises(ReconcileError, match="the lock bucket ops-state does not exist"), lock():
        pass
