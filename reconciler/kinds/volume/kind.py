"""Named volumes (compose's top-level volumes:), which containers mount by name: made and labelled
before the containers that mount them, removed only once no longer declared and no container uses
them. A volume holds data and takes no setting here, so there is nothing to compare: a declared
volume that exists is as declared.

The seam, as every owned kind has it: observe → a snapshot of SeenVolume (whose each one is: held)
→ kinds/ownership.py decides create / block / claim / delete → this kind's own words and steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from reconciler.clients.docker import CONNECTION_ERRORS, APIError, explain
from reconciler.kinds.base import Observation, Step, StepResult
from reconciler.kinds.docker_hosts import LabelledDockerKind
from reconciler.kinds.identity import ADDRESS, MANAGED, STATE_LABEL, Owner, claim_reason, docker_stamp, owner_of
from reconciler.kinds.ownership import with_action
from reconciler.model.spec import NamedVolume
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Blocked

DRIVER = "local"  # the engine's default: the one a container's first mount would have made


@dataclass(frozen=True)
class SeenVolume:
    host: str
    name: str
    owner: Owner | None  # None: not made by reconcile
    stamped_state: str | None  # the state name it carries (reconciler.state), if any
    users: tuple[str, ...] = ()  # the containers that mount it: read only for one of ours no longer declared


def address_of(name: str) -> str:
    return f"volume.{name}"


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
            observed[name] = Observation(digest_json({"name": seen.name, "owner": seen.owner, "users": seen.users}), seen)
        return observed

    # --- ownership (kinds/ownership.py decides; these are the volume's own words) -------------

    def create(self, name: str, desired: NamedVolume, frame: Action) -> Action:
        return with_action(frame, "create", [], [])

    def compare(self, name: str, desired: NamedVolume, seen: SeenVolume, frame: Action) -> Action:
        return frame  # a volume takes no setting: as declared once it exists

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

    def apply(self, step: Step) -> StepResult:
        action = step.action
        seen: SeenVolume | None = step.observed.data if step.observed else None
        try:
            if action.action == "delete" and seen is not None:
                self.client(seen.host).remove_volume(seen.name)
                return StepResult(True, "removed")
            if action.action == "create" and step.desired is not None:
                host = step.desired.host or ""
                labels = docker_stamp(action.address, host, self.ctx.state.settings.name)
                self.client(host).create_volume(action.name, driver=DRIVER, labels=labels)
                return StepResult(True, "created")
        except APIError as error:
            return StepResult(False, explain(error))
        except CONNECTION_ERRORS as error:
            return StepResult(False, explain(error))
        return StepResult(True, "nothing to do")


KIND = VolumeKind
