"""Named volumes (compose's top-level volumes:), which containers mount by name: made with their
driver, options and labels, and labelled, before the containers that mount them; removed only once
no longer declared and no container uses them. The engine cannot change a volume's driver, options
or labels, and making it again would lose its data: a declaration that differs is a blocked
replace, which the user carries out by hand.

The seam, as every owned kind has it: observe → a snapshot of SeenVolume (whose each one is: held)
→ kinds/ownership.py decides create / block / claim / delete → this kind's own words and steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.kinds.base import Observation
from reconciler.kinds.docker_hosts import LabelledDockerKind
from reconciler.kinds.identity import ADDRESS, MANAGED, STATE_LABEL, Owner, claim_reason, docker_stamp, owner_of
from reconciler.kinds.ownership import with_action
from reconciler.model.spec import NamedVolume
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Blocked, Change, created_fields


@dataclass(frozen=True)
class SeenVolume:
    host: str
    name: str
    owner: Owner | None  # None: not made by reconcile
    stamped_state: str | None  # the state name it carries (reconciler.state), if any
    users: tuple[str, ...] = ()  # the containers that mount it: read only for one of ours no longer declared
    view: dict[str, Any] = field(default_factory=dict)  # driver, driver_opts, labels (without reconcile's own)


def address_of(name: str) -> str:
    return f"volume.{name}"


def desired_view(spec: NamedVolume) -> dict[str, Any]:
    return {"driver": spec.driver, "driver_opts": dict(spec.driver_opts), "labels": dict(spec.labels)}


def observed_view(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "driver": record.get("Driver") or "local",
        "driver_opts": dict(record.get("Options") or {}),
        "labels": {k: v for k, v in (record.get("Labels") or {}).items() if not k.startswith("reconciler.")},
    }


def compare(desired: NamedVolume, seen: SeenVolume) -> list[Change]:
    """Pure: each of the volume's settings that differs from its declaration."""
    want = desired_view(desired)
    return [
        Change(path=key, before=seen.view.get(key), after=value) for key, value in want.items() if seen.view.get(key) != value
    ]


def seen_volume(host: str, record: Mapping[str, object], state: str, users: tuple[str, ...] = ()) -> SeenVolume:
    """One volume of the engine's listing → what diff and apply need. Pure."""
    labels: Mapping[str, str] = record.get("Labels") or {}  # type: ignore[assignment]
    managed = labels.get(MANAGED) == "true"
    return SeenVolume(
        host=host,
        name=str(record["Name"]),
        owner=owner_of(labels.get(STATE_LABEL), state) if managed else None,
        stamped_state=labels.get(STATE_LABEL) or None,
        users=users,
        view=observed_view(record),
    )


class VolumeKind(LabelledDockerKind[NamedVolume, SeenVolume]):
    kind: ClassVar[str] = "volume"
    section: ClassVar[str] = "volumes"

    def _observe_host(self, host: str, desired: Mapping[str, NamedVolume]) -> dict[str, Observation]:
        """One listing of the host's volumes; the containers using one are asked only of a volume of
        ours that is no longer declared (the only one a plan may remove)."""
        client = self.client(host)
        ours = self.ctx.state.settings.name
        observed = {}
        for record in client.volumes().get("Volumes") or []:
            labels = record.get("Labels") or {}
            if self.elsewhere(labels, host):
                continue  # the same engine under another host entry: that entry observes it
            managed = labels.get(ADDRESS, "") if labels.get(MANAGED) == "true" else ""
            name = managed.partition(".")[2] if managed.startswith("volume.") else record["Name"]
            if name not in desired and not managed:
                continue  # not reconcile's and not declared: not our business
            seen = seen_volume(host, record, ours)
            if name not in desired and seen.owner != "ours":
                continue  # another state's, or legacy and not declared here: never planned
            if name not in desired:
                using = client.containers(all=True, filters={"volume": seen.name})
                seen = seen_volume(host, record, ours, tuple(sorted(c["Names"][0].lstrip("/") for c in using)))
            digest = digest_json({"name": seen.name, "owner": seen.owner, "users": seen.users, "view": seen.view})
            observed[name] = Observation(digest, seen)
        return observed

    # --- ownership (kinds/ownership.py decides; these are the volume's own words) -------------

    def create(self, name: str, desired: NamedVolume, frame: Action) -> Action:
        shown = desired.model_dump(mode="json", include={"driver", "driver_opts", "labels"}, exclude_defaults=True)
        return with_action(frame, "create", [], created_fields(shown))

    def compare(self, name: str, desired: NamedVolume, seen: SeenVolume, frame: Action) -> Action:
        changes = compare(desired, seen)
        if not changes:
            return frame
        return with_action(
            frame, "replace", [f"{change.path} changed" for change in changes], changes,
            Blocked(reason=f"the engine cannot change a volume's {', '.join(c.path for c in changes)}, and making "
                    f"volume {name} again would lose its data",
                    remedy=f"move its data and remove it by hand (docker volume rm {seen.name}) before apply, "
                    "or declare the new settings under a new volume name"),
        )  # fmt: skip

    def claim(self, planned: Action, name: str, seen: SeenVolume) -> Action:
        how = "a volume's labels cannot change, and its data stays: this state plans it as its own"
        return planned.model_copy(update={"reasons": [claim_reason(f"volume {name}", how), *planned.reasons]})

    def delete(self, name: str, seen: SeenVolume, frame: Action) -> Action:
        """After the containers this plan removes that mount it; blocked by any other that does."""
        removed = self._removed_containers(seen.host)
        declared = {
            spec.container_name or key
            for key, spec in self.ctx.state.containers.items()
            if spec.host == seen.host and spec.state != "absent" and any(m.source == seen.name for m in spec.volumes)
        }
        staying = sorted((set(seen.users) - removed.keys()) | declared)
        deleted = with_action(frame, "delete", ["no longer declared"], [])
        if staying:
            shown = ", ".join(f"container {c}" for c in staying)
            return with_action(
                frame, "delete", ["no longer declared"], [],
                Blocked(reason=f"volume {name} is no longer declared, but {shown} {'uses' if len(staying) == 1 else 'use'} it",
                        remedy="remove the container first (or its mount of the volume), or declare the volume again"),
            )  # fmt: skip
        return deleted.model_copy(update={"depends_on": sorted(removed[c] for c in seen.users if c in removed)})

    def _removed_containers(self, host: str) -> dict[str, str]:
        """Engine name → address of the containers on ``host`` that this plan removes."""
        declared = self.ctx.state.containers
        observed = (self.ctx.observed or {}).get("container", {})
        return {
            o.data.name: f"container.{key}"
            for key, o in observed.items()
            if o.data.host == host and (key not in declared or declared[key].state == "absent")
        }

    # --- apply -----------------------------------------------------------------------------------

    def remove(self, seen: SeenVolume) -> None:
        self.client(seen.host).remove_volume(seen.name)

    def make(self, name: str, spec: NamedVolume) -> None:
        host = spec.host or ""
        labels = {**spec.labels, **docker_stamp(f"{self.kind}.{name}", host, self.ctx.state.settings.name)}
        self.client(host).create_volume(name, driver=spec.driver, driver_opts=dict(spec.driver_opts) or None, labels=labels)


KIND = VolumeKind
