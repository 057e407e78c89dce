"""The state's records in the directory backend (compare-and-swap writes, the journal), and the pure
recovery decisions for what a killed apply left (a temporary replacement container, an untagged bucket)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.clients.adoptions import AdoptionLedger
from reconciler.clients.backend import FILE_NAMES, DirectoryBackend
from reconciler.clients.journal import Intent, Journal
from reconciler.clients.records import DamagedRecord, Record, RecordConflict
from reconciler.errors import ConfigError, ReconcileError
from reconciler.kinds.container.recovery import Leftover, recovery_of, replacement_of, with_recovery
from reconciler.kinds.s3_bucket.recovery import created_by
from reconciler.kinds.s3_bucket.recovery import with_recovery as bucket_recovery
from reconciler.model.load import load_state
from reconciler.plan.schema import Action, Change
from tests.support.full_disk import fill, mounted_tmpfs, release

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


def test_a_record_is_read_beside_the_state_until_git_tracks_it(tmp_path: Path) -> None:
    """Reconcile's own (git-ignored) record is read; once committed, anyone with a pull request could
    have written it: it reads as none."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".reconcile.journal.json").write_text('{"version": 1, "intents": {}}')
    assert DirectoryBackend(tmp_path).read("journal") is not None
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", ".reconcile.journal.json"], check=True)
    assert DirectoryBackend(tmp_path).read("journal") is None


def test_a_directory_record_is_written_only_over_the_version_read(tmp_path: Path) -> None:
    backend = DirectoryBackend(tmp_path)
    assert backend.read("adopted") is None
    first = backend.write("adopted", {"n": 1}, None)
    assert (tmp_path / ".reconcile.adopted.json").exists()
    with pytest.raises(RecordConflict):
        backend.write("adopted", {"n": 2}, None)  # a new record must not exist yet
    second = backend.write("adopted", {"n": 2}, first)
    with pytest.raises(RecordConflict):
        backend.write("adopted", {"n": 3}, first)  # stale version
    stored = backend.read("adopted")
    assert stored is not None and stored.document == {"n": 2} and stored.version == second


def test_an_update_that_meets_another_writers_change_reads_again_and_keeps_both(tmp_path: Path) -> None:
    backend = DirectoryBackend(tmp_path)
    ours, theirs = Record(backend, "restarts"), Record(backend, "restarts")
    ours.update(lambda doc: {"items": [*(doc or {}).get("items", []), "a"]})
    assert theirs.document() == {"items": ["a"]}
    ours.update(lambda doc: {"items": [*(doc or {}).get("items", []), "b"]})  # theirs now holds a stale version
    theirs.update(lambda doc: {"items": [*(doc or {}).get("items", []), "c"]})
    assert Record(backend, "restarts").document() == {"items": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"version": 1, "intents": {"s3_bucket.exports": {"action": "cre', "not JSON"),  # half-written
        ("", "it is empty: a write was cut short"),
        ("[]", "a JSON list, not an object"),
        ('{"version": 1, "intents": []}', 'no "intents" object'),
        ('{"version": 1, "intents": {"s3_bucket.exports": {"action": "create"}}}', "the intent for s3_bucket.exports"),
    ],
    ids=["half-written", "empty", "a list", "intents a list", "an intent without a time"],
)
def test_a_damaged_journal_is_an_error_naming_the_file_and_the_repair_never_none(tmp_path: Path, body: str, why: str) -> None:
    (tmp_path / FILE_NAMES["journal"]).write_text(body)
    journal = Journal(Record(DirectoryBackend(tmp_path), "journal"))
    for use in (journal.intents, lambda: journal.begin("container.web", "create", NOW)):
        with pytest.raises(DamagedRecord) as damaged:
            use()
        message = str(damaged.value)
        assert message.startswith(f"the record {tmp_path / FILE_NAMES['journal']} is damaged ({why}")
        assert "it holds the steps a killed apply began: restore it from a backup, or" in message
    assert (tmp_path / FILE_NAMES["journal"]).read_text() == body  # never written over


def test_a_damaged_adoption_record_is_an_error_not_nothing_adopted(tmp_path: Path) -> None:
    (tmp_path / FILE_NAMES["adopted"]).write_text('{"version": 1, "adopted": {"local/abc": "contain')
    with pytest.raises(DamagedRecord, match=r"adopted\.json is damaged .*adopt the containers again \(`reconcile import`"):
        AdoptionLedger(Record(DirectoryBackend(tmp_path), "adopted")).address_of("local", "abc")


def test_a_record_that_cannot_be_read_is_an_error_not_none(tmp_path: Path) -> None:
    (tmp_path / FILE_NAMES["adopted"]).mkdir()  # there, and not readable as a file
    with pytest.raises(ReconcileError, match=r"cannot read the record .*adopted\.json: Is a directory"):
        DirectoryBackend(tmp_path).read("adopted")


def test_the_journal_keeps_an_intent_until_its_step_ends(tmp_path: Path) -> None:
    backend = DirectoryBackend(tmp_path)
    journal = Journal(Record(backend, "journal"))
    journal.begin("s3_bucket.exports", "create", NOW)
    journal.begin("container.web", "replace", NOW)
    journal.end(["container.web"])
    later = Journal(Record(backend, "journal")).intents()  # the next run
    assert list(later) == ["s3_bucket.exports"]
    assert later["s3_bucket.exports"].action == "create" and later["s3_bucket.exports"].at == NOW
    assert "pid" in later["s3_bucket.exports"].shown()


def test_settings_backend_is_an_s3_url_and_excludes_settings_lock(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("settings:\n  backend: s3://ops-state/teams/a\n")
    assert load_state(tmp_path).state.settings.backend == "s3://ops-state/teams/a"
    (tmp_path / "settings.yaml").write_text("settings:\n  backend: s3://ops-state/a\n  lock: s3://ops-state/x.lock\n")
    with pytest.raises(ConfigError) as both:
        load_state(tmp_path)
    assert "settings.yaml:3:" in str(both.value.diagnostics[0])
    assert "the lock lives in it (s3://ops-state/a/lock); remove settings.lock" in str(both.value.diagnostics[0])
    (tmp_path / "settings.yaml").write_text("settings:\n  backend: /var/state\n")
    with pytest.raises(ConfigError) as wrong:
        load_state(tmp_path)
    assert "expected s3://BUCKET/PREFIX" in str(wrong.value.diagnostics[0])


# --- a replace killed mid-way ------------------------------------------------------------------


def leftover(alone: bool = False, healthy: bool = True, config_hash: str = "h1") -> Leftover:
    return Leftover("abc", "web-reconcile-new", "running", healthy, config_hash, alone)


def action(kind: str = "noop", **extra: Any) -> Action:
    return Action(address="container.web", type="container", action=kind, observed_digest="sha256:x", **extra)  # type: ignore[arg-type]


def test_only_our_own_temporary_container_is_a_leftover() -> None:
    ours = {"reconciler.managed": "true", "reconciler.address": "container.web"}
    assert replacement_of("web-reconcile-new", ours, "reconciler.managed", "reconciler.address") == "web"
    assert replacement_of("web-reconcile-new", {}, "reconciler.managed", "reconciler.address") is None
    renamed = {**ours, "reconciler.address": "container.db"}  # container_name: web, declared as db
    assert replacement_of("web-reconcile-new", renamed, "reconciler.managed", "reconciler.address") == "db"
    bucket = {**ours, "reconciler.address": "s3_bucket.web"}
    assert replacement_of("web-reconcile-new", bucket, "reconciler.managed", "reconciler.address") is None


def test_a_leftover_alone_takes_the_name_and_the_plan_says_so() -> None:
    recovery = recovery_of("web", leftover(alone=True), "h1", None)
    assert recovery.how == "promote"
    shown = with_recovery(action("noop"), recovery)
    assert shown.action == "update"
    assert shown.reasons[0].startswith("recover: web-reconcile-new was left by an interrupted replace")
    assert shown.changes[0] == Change(path="recovery", before="web-reconcile-new (healthy)", after="renamed to web")


def test_a_healthy_leftover_as_declared_finishes_the_replace() -> None:
    intent = Intent("container.web", "replace", NOW, "ci-runner pid 42")
    recovery = recovery_of("web", leftover(), "h1", intent)
    assert recovery.how == "finish"
    assert "killed mid-replace (replace begun at 2026-12-06 22:00:00 UTC by ci-runner pid 42)" in recovery.reason
    assert with_recovery(action("update"), recovery).action == "replace"


@pytest.mark.parametrize(
    ("left", "wanted"),
    [(leftover(healthy=False), "h1"), (leftover(config_hash="old"), "h1"), (leftover(), None)],
    ids=["unhealthy", "another configuration", "no longer declared"],
)
def test_any_other_leftover_beside_the_old_container_is_removed(left: Leftover, wanted: str | None) -> None:
    recovery = recovery_of("web", left, wanted, None)
    assert recovery.how == "remove" and recovery.change.after == "removed"
    assert with_recovery(action("replace"), recovery).action == "replace"


# --- a bucket created, then the apply killed before tagging it ----------------------------------


def test_an_untagged_bucket_is_ours_only_when_the_journal_holds_a_create_from_before_it() -> None:
    intent = Intent("s3_bucket.exports", "create", NOW, "ci pid 1")
    assert created_by(intent, NOW + timedelta(seconds=1)) == intent
    assert created_by(intent, NOW - timedelta(days=3)) is None  # an old bucket someone else made
    assert created_by(None, NOW) is None
    assert created_by(Intent("s3_bucket.exports", "replace", NOW, ""), NOW) is None


def test_a_recovered_bucket_shows_its_own_reason_and_change() -> None:
    intent = Intent("s3_bucket.exports", "create", NOW, "ci pid 1")
    bucket = Action(address="s3_bucket.exports", type="s3_bucket", action="update", observed_digest="sha256:x")
    shown = bucket_recovery(bucket, intent)
    assert shown.reasons[0].startswith("recover: exports was created by an apply killed before it was tagged")
    assert shown.changes[0].path == "recovery" and shown.changes[0].after == "adopted"
    undone = bucket_recovery(bucket.model_copy(update={"action": "delete"}), intent)
    assert undone.changes[0].after == "deleted" and "the create is undone" in undone.reasons[0]


def test_a_record_written_on_a_full_disk_is_an_error_naming_it_and_keeps_what_it_held(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "state") as state:
        backend = DirectoryBackend(state)
        first = backend.write("adopted", {"version": 1, "adopted": {"local/abc": "container.web"}}, None)
        kept = (state / FILE_NAMES["adopted"]).read_bytes()
        fillers = fill(state)
        with pytest.raises(ReconcileError) as full:
            backend.write("adopted", {"version": 1, "adopted": {"local/def": "container.db"}}, first)
        assert str(full.value) == (
            f"cannot write {state / FILE_NAMES['adopted']}: No space left on device; the file is unchanged (nothing in it is lost)"
        )
        assert (state / FILE_NAMES["adopted"]).read_bytes() == kept
        assert sorted(p.name for p in state.iterdir() if not p.name.startswith("filler-")) == [FILE_NAMES["adopted"]]
        release(fillers)
        backend.write("adopted", {"version": 1, "adopted": {}}, first)  # room again: written
