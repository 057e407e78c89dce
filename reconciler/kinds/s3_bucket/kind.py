"""S3 buckets (SPEC §1.5): found by name and recognised as ours by the tag
reconciler:address=s3_bucket.NAME; each setting observed and diffed by field (s3_bucket_view), and
written back one setting at a time. Never deletes a protected or non-empty bucket."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from reconciler.clients.aws import BotoCoreError, ClientError, connect, error_code, explain, http_status
from reconciler.clients.crashpoint import crash_point
from reconciler.clients.journal import Intent
from reconciler.errors import ReconcileError
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.identity import ADDRESS_TAG, STATE_TAG, claim_change, claim_reason, owner_of
from reconciler.kinds.ownership import (
    LEGACY,
    OURS,
    UNMANAGED,
    Held,
    OwnedKind,
    another_state,
    region_remedy,
    with_action,
)
from reconciler.kinds.s3_bucket.recovery import RECOVERY, created_by, recovered_view, with_recovery
from reconciler.kinds.s3_bucket.view import (
    PROTECT_TAG,
    PUBLIC_ACCESS_FLAGS,
    address_of,
    bucket_tags,
    compare,
    desired_view,
    encryption_request,
    lifecycle_request,
    managed_address,
    observed_view,
    reason,
    section_of,
    shown_on_create,
    stamped_state,
    tag_set,
)
from reconciler.model.spec import S3Bucket
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Blocked, Change

NOT_CONFIGURED = {
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchLifecycleConfiguration",
    "NoSuchTagSet",
}
ENCRYPTION = "ServerSideEncryptionConfiguration"
PUBLIC_ACCESS = "PublicAccessBlockConfiguration"
COUNT_LIMIT = 10_000  # objects counted before a bucket is called "at least this full"
SECTIONS = ("tags", "versioning", "encryption", "block_public_access", "lifecycle")  # the order apply writes them

Owner = Literal["reconcile", "unmanaged", "another account", "another state", "legacy"]


@dataclass(frozen=True)
class SeenBucket:
    name: str
    region: str
    owner: Owner
    view: dict[str, Any] | None  # observed_view, for the buckets we manage
    objects: int | None = None  # counted for managed buckets no longer declared (capped at COUNT_LIMIT)
    state: str | None = None  # "another state": the name of the state it belongs to
    recovered: Intent | None = None  # untagged, created by an apply that was killed (s3_bucket_recovery)


class Gone(Exception):
    """The bucket disappeared while it was read."""


class Unread(ReconcileError):
    """One read of a bucket failed (its region listed): that bucket is blocked, nothing else."""

    def __init__(self, message: str, denied: bool) -> None:
        super().__init__(message)
        self.denied = denied  # 403: this identity may not read it


def _observation(seen: SeenBucket) -> Observation:
    material = {"owner": seen.owner, "region": seen.region, "view": seen.view, "objects": seen.objects}
    if seen.recovered is not None:
        material["recovered"] = True
    return Observation(digest_json(material), seen)


def _objects_shown(count: int) -> str:
    return f"at least {COUNT_LIMIT}" if count >= COUNT_LIMIT else str(count)


class S3BucketKind(OwnedKind[S3Bucket, SeenBucket]):
    kind: ClassVar[str] = "s3_bucket"
    section: ClassVar[str] = "s3_buckets"
    marker: ClassVar[str] = f"tag {STATE_TAG}"
    place_word: ClassVar[str] = "region"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.unreachable: dict[str, str] = {}  # region → why its buckets could not be listed: they are blocked
        self.unread: dict[str, tuple[str, str]] = {}  # bucket → (why, remedy): it could not be read, it is blocked
        self.created: dict[str, datetime] = {}  # bucket → its creation time, from the listings
        self.intents: dict[str, Intent] = {}  # the journal's, read by observe

    def client(self, region: str) -> Any:
        return self.ctx.client(f"s3:{region}", lambda: connect("s3", region, self.ctx.parallelism + 2))

    # --- observe ----------------------------------------------------------------------------

    def observe(self, desired: Mapping[str, S3Bucket]) -> Mapping[str, Observation]:
        """Every declared bucket, and every bucket tagged as ours in the regions the state uses.
        No AWS call at all when the state declares no bucket and names no aws.region."""
        used = {spec.region for spec in desired.values()} | {self.ctx.state.aws.region}
        regions = sorted(region for region in used if region)
        if not regions:
            return {}
        self.intents = self.ctx.journal.intents()
        with ThreadPoolExecutor(max_workers=self.ctx.parallelism) as pool:
            found: dict[str, str] = {}  # name → region
            for region, names in zip(regions, pool.map(self._list_readable, regions), strict=True):
                found.update(dict.fromkeys(names, region))
            missing = [name for name in desired if name not in found and desired[name].region not in self.unreachable]
            for name, located in zip(missing, pool.map(lambda n: self._locate(n, desired[n]), missing), strict=True):
                if located in self.unreachable:  # names are global: declared in one region, it lives in another
                    why = f"it lives in region {located}, which could not be observed: {self.unreachable[located]}"
                    self.unread[name] = why, region_remedy(str(located))
                elif located is not None:
                    found[name] = located
            self.ctx.progress("s3_bucket.*", f"reading {len(found)} bucket{'' if len(found) == 1 else 's'}")
            read = pool.map(lambda at: self._read(at[0], at[1], at[0] in desired, at[1] in regions), sorted(found.items()))
            seen = [bucket for bucket in read if bucket is not None]
        unread = [SeenBucket(name, found.get(name, ""), "unmanaged", None) for name in self.unread]  # decide blocks them
        return {bucket.name: _observation(bucket) for bucket in [*seen, *unread]}

    def _list_readable(self, region: str) -> list[str]:
        """A region whose buckets cannot be listed (no route, no credentials, denied) blocks only its own."""
        try:
            return self._list(region)
        except ReconcileError as error:
            self.unreachable[region] = str(error)
            return []

    def _list(self, region: str) -> list[str]:
        self.ctx.progress("s3_bucket.*", f"listing the buckets in {region}")
        try:
            pages = self.client(region).get_paginator("list_buckets").paginate(BucketRegion=region)
            buckets = [bucket for page in pages for bucket in page.get("Buckets", [])]
            self.created.update({b["Name"]: b["CreationDate"] for b in buckets if isinstance(b.get("CreationDate"), datetime)})
            return [bucket["Name"] for bucket in buckets]
        except (ClientError, BotoCoreError) as error:
            raise ReconcileError(f"s3_bucket: cannot list the buckets in {region}: {explain(error)}") from None

    def _locate(self, name: str, spec: S3Bucket) -> str | None:
        """A declared bucket not listed in the state's regions: absent, elsewhere, or another
        account's (bucket names are global). Returns its region, "" for another account's, None if absent."""
        region = spec.region or ""
        try:
            answer = self.client(region).head_bucket(Bucket=name)
        except ClientError as error:
            if http_status(error) == 404:
                return None
            if http_status(error) == 403:
                return ""
            self._not_read(name, f"cannot look for the bucket: {explain(error)}")
            return None
        except BotoCoreError as error:
            self._not_read(name, f"cannot look for the bucket: {explain(error)}")
            return None
        return str(answer.get("BucketRegion") or region)

    def _read(self, name: str, region: str, declared: bool, listed: bool) -> SeenBucket | None:
        """The bucket as observe sees it; None if it is gone, not ours to plan, or could not be read
        (then it is blocked, alone: ``unread``)."""
        try:
            return self._read_all(name, region, declared)
        except Unread as error:
            where = "" if listed else f"in region {region}, where it lives (bucket names are global): "
            self._not_read(name, f"{where}{error}")
            return None

    def _not_read(self, name: str, why: str) -> None:
        remedy = f"make bucket {name} readable by this state's AWS identity (its bucket policy), or plan again once S3 answers"
        self.unread[name] = why, f"{remedy}; nothing is planned for it until then"

    def _read_all(self, name: str, region: str, declared: bool) -> SeenBucket | None:
        if not region:
            return SeenBucket(name, region, "another account", None)
        client = self.client(region)
        try:
            try:
                tags = self._get(name, "tags", lambda: client.get_bucket_tagging(Bucket=name).get("TagSet", []))
            except Unread as error:
                if error.denied and not declared:
                    return None  # another's: a bucket this state made carries a tag its identity reads
                raise
            address = managed_address(tags)
            ours = address == address_of(name)
            owner = owner_of(stamped_state(tags), self.ctx.state.settings.name) if ours else None
            if owner in ("another state", "legacy") and not declared:
                return None  # another state's, or made before state names and not ours to claim: never planned
            if owner == "another state":
                return SeenBucket(name, region, "another state", None, state=stamped_state(tags))
            recovered = created_by(self.intents.get(address_of(name)), self.created.get(name)) if address is None else None
            if not ours and recovered is None and (not declared or address is not None):
                # undeclared and not ours: not our business; tagged for another address: never adopted
                return SeenBucket(name, region, "unmanaged", None) if declared else None
            view = observed_view(
                region,
                self._get(name, "versioning", lambda: client.get_bucket_versioning(Bucket=name)) or {},
                self._get(name, "encryption", lambda: client.get_bucket_encryption(Bucket=name)[ENCRYPTION]),
                self._get(name, "public access block", lambda: client.get_public_access_block(Bucket=name)[PUBLIC_ACCESS]),
                self._get(name, "lifecycle", lambda: client.get_bucket_lifecycle_configuration(Bucket=name).get("Rules", [])),
                tags,
            )
            view = recovered_view(view) if recovered is not None else view
            objects = None if declared else self._get(name, "objects", lambda: self._count_objects(client, name))
        except Gone:
            return None
        # a declared bucket in our account without our tag is read in full: it is adopted if it matches
        seen_as: Owner = "legacy" if owner == "legacy" else "reconcile" if ours or recovered is not None else "unmanaged"
        return SeenBucket(name, region, seen_as, view, objects, recovered=recovered)

    def _get(self, name: str, what: str, call: Callable[[], Any]) -> Any:
        """One read; "not configured" is None, a vanished bucket is Gone, anything else names the bucket."""
        try:
            return call()
        except ClientError as error:
            if error_code(error) in NOT_CONFIGURED:
                return None
            if error_code(error) == "NoSuchBucket":
                raise Gone from None
            raise Unread(f"cannot read its {what}: {explain(error)}", http_status(error) == 403) from None
        except BotoCoreError as error:
            raise Unread(f"cannot read its {what}: {explain(error)}", False) from None

    @staticmethod
    def _count_objects(client: Any, name: str) -> int:
        """Objects, old versions and delete markers (any of them keeps a bucket from being deleted)."""
        count = 0
        for page in client.get_paginator("list_object_versions").paginate(Bucket=name, PaginationConfig={"PageSize": 1000}):
            count += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
            if count >= COUNT_LIMIT:
                return COUNT_LIMIT
        return count

    # --- diff (pure) ------------------------------------------------------------------------

    def observed_in(self, desired: S3Bucket | None, seen: SeenBucket | None) -> str | None:
        return desired.region if desired is not None else seen.region if seen is not None else None

    def unreachable_remedy(self, where: str) -> str:
        return region_remedy(where)

    # --- ownership (kinds/ownership.py decides; these are the bucket's own words) ------------

    def held(self, seen: SeenBucket) -> Held:
        if seen.owner == "another state":
            return another_state(seen.state or "")
        return OURS if seen.owner == "reconcile" else LEGACY if seen.owner == "legacy" else UNMANAGED

    def what(self, name: str, seen: SeenBucket) -> str:
        return f"bucket {name}"

    def create(self, name: str, desired: S3Bucket, frame: Action) -> Action:
        return with_action(frame, "create", [], [Change(path=c.path, after=c.after) for c in shown_on_create(desired)])

    def settle(self, planned: Action, desired: S3Bucket | None, seen: SeenBucket) -> Action:
        """A bucket an apply created and was killed before tagging (s3_bucket_recovery) is finished."""
        return with_recovery(planned, seen.recovered) if seen.recovered is not None else planned

    def unmanaged(self, name: str, desired: S3Bucket, seen: SeenBucket, frame: Action) -> Action:
        """Another account's name is never ours; an unmanaged bucket in ours is adopted if it matches."""
        if seen.owner == "another account":
            return with_action(
                frame,
                "create",
                ["the name is taken by another AWS account"],
                [],
                Blocked(
                    reason=f"bucket {name} exists and belongs to another AWS account (bucket names are global)",
                    remedy="choose another bucket name",
                ),
            )
        if seen.view is not None:
            return self._adopt_or_block(name, desired, seen, frame, self.ctx.state.settings.name)
        address = address_of(name)
        return with_action(
            frame,
            "create",
            [f"a bucket named {name} already exists in {seen.region} and is not managed by reconcile"],
            [],
            Blocked(
                reason=f"bucket {name} exists in {seen.region} without the tag reconciler:address={address}, "
                "so reconcile does not manage it (bucket names are global)",
                remedy=f"choose another bucket name, or adopt this bucket by tagging it reconciler:address={address}",
            ),
        )

    def delete(self, name: str, seen: SeenBucket, frame: Action) -> Action:
        return with_action(frame, "delete", ["no longer declared"], [], self._delete_blocked(name, seen))

    def claim(self, planned: Action, name: str, seen: SeenBucket) -> Action:
        """Made before state names: our state tag, added in place."""
        state = self.ctx.state.settings.name
        reason = claim_reason(f"bucket {name}", f"apply tags it {STATE_TAG}={state} in place")
        return planned.model_copy(
            update={
                "action": "update" if planned.action == "noop" else planned.action,
                "reasons": [*planned.reasons, reason],
                "changes": [*planned.changes, claim_change(f"tags.{STATE_TAG}", state)],
            }
        )

    def compare(self, name: str, desired: S3Bucket, seen: SeenBucket, frame: Action) -> Action:
        assert seen.view is not None
        changes = compare(desired_view(desired), seen.view)
        shown = [Change(path=c.path, before=c.before, after=c.after) for c in changes]
        reasons = [reason(c) for c in changes]
        if not shown:
            return frame
        if changes[0].path == "region":
            return with_action(
                frame,
                "replace",
                reasons,
                shown,
                Blocked(
                    reason=f"bucket {name} is in {seen.region}; a bucket's region cannot change, "
                    "and replacing it would delete its data",
                    remedy=f"declare region: {seen.region}, or copy the data to a new bucket with another name",
                ),
            )
        return with_action(frame, "update", reasons, shown)

    @staticmethod
    def _adopt_or_block(name: str, desired: S3Bucket, seen: SeenBucket, frame: Action, state: str) -> Action:
        """A declared bucket in our account without our tag: adopted (our tags added, nothing else
        written) when it matches the declaration on every setting; otherwise blocked, naming what differs.
        protect is ours to record, so it is not compared: adoption writes it."""
        assert seen.view is not None
        address = address_of(name)
        differs = [change for change in compare(desired_view(desired), seen.view) if change.path != "protect"]
        if not differs:
            ours = {ADDRESS_TAG: address, PROTECT_TAG: "true" if desired.protect else "false", STATE_TAG: state}
            return with_action(
                frame,
                "update",
                [f"adopt: unmanaged bucket {name} in {seen.region} matches its declaration; apply adds our tags"],
                [Change(path=f"tags.{key}", before=None, after=value) for key, value in ours.items()],
            )
        fields = ", ".join(f"{change.path} (is {change.before!r}, declared {change.after!r})" for change in differs)
        return with_action(
            frame,
            "create",
            [f"a bucket named {name} already exists in {seen.region}, unmanaged, and differs from its declaration"],
            [],
            Blocked(
                reason=f"bucket {name} exists in {seen.region} without the tag reconciler:address={address} and differs "
                f"from its declaration: {fields}; reconcile adopts only a bucket that matches (bucket names are global)",
                remedy="declare the bucket as it is (remove its declaration and run `reconcile import --aws` to print it), "
                "or change the bucket to match, or choose another bucket name",
            ),
        )

    @staticmethod
    def _delete_blocked(name: str, seen: SeenBucket) -> Blocked | None:
        reasons, remedies = [], []
        assert seen.view is not None
        if seen.view["protect"]:
            reasons.append("it is protected (it was last applied with protect: true, the default)")
            remedies.append("declare it again with protect: false and apply, then remove it")
        if seen.objects:
            reasons.append(
                f"it holds {_objects_shown(seen.objects)} objects (versions and delete markers included), "
                "and reconcile never deletes a non-empty bucket"
            )
            remedies.append(f"empty it yourself first (e.g. aws s3 rm s3://{name} --recursive, and its old versions)")
        if not reasons:
            return None
        remedies.append("or declare it again to keep it")
        return Blocked(reason=f"bucket {name} is not deleted: " + "; ".join(reasons), remedy="; ".join(remedies))

    # --- apply ------------------------------------------------------------------------------

    def apply(self, step: Step) -> StepResult:
        action = step.action
        seen: SeenBucket | None = step.observed.data if step.observed else None
        done: list[str] = []
        try:
            if action.action == "create":
                assert step.desired is not None
                self._create(action.name, step.desired, done)
            elif action.action == "update":
                assert step.desired is not None and seen is not None
                sections = {section_of(change.path) for change in action.changes}
                if RECOVERY in sections:  # never tagged: tagged and configured in full, as its create would have
                    done.append("recovered")
                    sections = set(SECTIONS)
                self._write(action.name, step.desired, seen.region, [s for s in SECTIONS if s in sections], done)
            elif action.action == "delete":
                assert seen is not None
                self._delete(action.name, seen.region, done)
        except _StepFailed as failure:
            so_far = f"{', '.join(done)}; then " if done else ""
            return StepResult(False, f"{so_far}{failure}")
        return StepResult(True, ", ".join(done) or "nothing to do")

    def _call(self, name: str, doing: str, call: Callable[[], Any]) -> Any:
        self.ctx.progress(address_of(name), doing)
        try:
            return call()
        except (ClientError, BotoCoreError) as error:
            raise _StepFailed(f"failed {doing}: {explain(error)}", error_code(error)) from None

    def _create(self, name: str, spec: S3Bucket, done: list[str]) -> None:
        region = spec.region or ""
        client = self.client(region)
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            self._call(name, f"creating the bucket in {region}", lambda: client.create_bucket(Bucket=name, **where))
        except _StepFailed as failure:
            if failure.code != "BucketAlreadyOwnedByYou":
                raise
        crash_point("s3_bucket.created")
        existing = self._call(name, "checking it is ours", lambda: self._tags_or_none(client, name))
        if existing and managed_address(existing) != address_of(name):
            raise _StepFailed(
                f"bucket {name} already existed without the tag reconciler:address={address_of(name)}; nothing changed"
            )
        other = stamped_state(existing)
        if other and other != self.ctx.state.settings.name:
            raise _StepFailed(f"bucket {name} already existed and belongs to state {other}; nothing changed")
        done.append(f"created in {region}")
        self._write(name, spec, region, list(SECTIONS), done, fresh=True)

    @staticmethod
    def _tags_or_none(client: Any, name: str) -> list[dict[str, str]] | None:
        try:
            return list(client.get_bucket_tagging(Bucket=name).get("TagSet", []))
        except ClientError as error:
            if error_code(error) == "NoSuchTagSet":
                return None
            raise

    def _write(self, name: str, spec: S3Bucket, region: str, sections: list[str], done: list[str], fresh: bool = False) -> None:
        """Each setting in turn (tags first, so a bucket half-configured is still recognised as ours).
        On a fresh bucket, what S3 starts with already (versioning off, no rules) is not written."""
        client = self.client(region)
        writers = {
            "tags": self._write_tags,
            "versioning": self._write_versioning,
            "encryption": self._write_encryption,
            "block_public_access": self._write_public_access_block,
            "lifecycle": self._write_lifecycle,
        }
        for section in sections:
            said = writers[section](client, name, spec, fresh)
            if said:
                done.append(said)

    def _write_tags(self, client: Any, name: str, spec: S3Bucket, fresh: bool) -> str:
        tags = tag_set(bucket_tags(name, spec, self.ctx.state.settings.name))
        self._call(name, "setting tags", lambda: client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags}))
        return "tagged"

    def _write_versioning(self, client: Any, name: str, spec: S3Bucket, fresh: bool) -> str:
        if fresh and not spec.versioning:
            return ""
        status = "Enabled" if spec.versioning else "Suspended"
        self._call(
            name,
            f"setting versioning {status}",
            lambda: client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status}),
        )
        return f"versioning {status}"

    def _write_public_access_block(self, client: Any, name: str, spec: S3Bucket, fresh: bool) -> str:
        flags = dict.fromkeys(PUBLIC_ACCESS_FLAGS, spec.block_public_access)
        self._call(
            name,
            "setting the public access block",
            lambda: client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=flags),
        )
        return "public access " + ("blocked" if spec.block_public_access else "not blocked")

    def _write_encryption(self, client: Any, name: str, spec: S3Bucket, fresh: bool) -> str:
        if spec.encryption != "none":
            request = encryption_request(spec)
            self._call(
                name,
                f"setting encryption {spec.encryption}",
                lambda: client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=request),
            )
        elif not fresh:
            self._call(name, "removing default encryption", lambda: client.delete_bucket_encryption(Bucket=name))
        return f"encryption {spec.encryption}"

    def _write_lifecycle(self, client: Any, name: str, spec: S3Bucket, fresh: bool) -> str:
        if fresh and not spec.lifecycle:
            return ""
        if spec.lifecycle:
            rules = lifecycle_request(spec)
            self._call(
                name,
                "setting lifecycle rules",
                lambda: client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules}),
            )
        else:
            self._call(name, "removing lifecycle rules", lambda: client.delete_bucket_lifecycle(Bucket=name))
        return f"{len(spec.lifecycle)} lifecycle rules"

    def _delete(self, name: str, region: str, done: list[str]) -> None:
        client = self.client(region)
        try:
            self._call(name, "deleting the bucket", lambda: client.delete_bucket(Bucket=name))
        except _StepFailed as failure:
            if failure.code == "NoSuchBucket":
                done.append("already gone")
                return
            if failure.code == "BucketNotEmpty":
                raise _StepFailed(f"bucket {name} is no longer empty (objects were written since the plan); kept") from None
            raise
        done.append("deleted")


class _StepFailed(Exception):
    """A step's call failed; the message says which and why, `code` is the AWS error code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


KIND = S3BucketKind
