"""User-defined Docker networks (compose's top-level networks:): found by our labels, created before
the containers that join them, removed after the containers that used them. A network cannot change
in place: a differing one is replaced when no container is attached, else blocked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.clients.docker import (
    NotFound,
)
from reconciler.kinds.base import Observation
from reconciler.kinds.docker_hosts import LabelledDockerKind
from reconciler.kinds.identity import ADDRESS, MANAGED, STATE_LABEL, Owner, claim_reason, docker_stamp, owner_of
from reconciler.kinds.ownership import with_action
from reconciler.model.spec import Network
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Blocked, Change, created_fields


@dataclass(frozen=True)
class SeenNetwork:
    host: str
    id: str
    name: str
    owner: Owner | None  # None: not made by reconcile
    stamped_state: str | None  # the state name it carries (reconciler.state), if any
    view: dict[str, Any]
    containers: tuple[str, ...]  # names of the containers attached

    @property
    def managed(self) -> bool:
        return self.owner is not None


def _address(name: str) -> str:
    return f"network.{name}"


def desired_view(spec: Network) -> dict[str, Any]:
    return {
        "driver": spec.driver,
        "driver_opts": dict(spec.driver_opts),
        "internal": spec.internal,
        "attachable": spec.attachable,
        "enable_ipv6": spec.enable_ipv6,
        "labels": dict(spec.labels),
    }


def observed_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "driver": record.get("Driver", ""),
        "driver_opts": dict(record.get("Options") or {}),
        "internal": bool(record.get("Internal")),
        "attachable": bool(record.get("Attachable")),
        "enable_ipv6": bool(record.get("EnableIPv6")),
        "labels": {k: v for k, v in (record.get("Labels") or {}).items() if not k.startswith("reconciler.")},
    }


def observation(host: str, record: dict[str, Any], state: str) -> Observation:
    labels = record.get("Labels") or {}
    managed = labels.get(MANAGED) == "true"
    seen = SeenNetwork(
        host=host,
        id=record["Id"],
        name=record["Name"],
        owner=owner_of(labels.get(STATE_LABEL), state) if managed else None,
        stamped_state=labels.get(STATE_LABEL) or None,
        view=observed_view(record),
        containers=tuple(sorted(c.get("Name", "") for c in (record.get("Containers") or {}).values())),
    )
    return Observation(digest_json({"id": seen.id, "view": seen.view}), seen)


def compare(desired: Network, seen: SeenNetwork) -> list[Change]:
    want, have = desired_view(desired), seen.view
    return [Change(path=key, before=have.get(key), after=value) for key, value in want.items() if have.get(key) != value]


class NetworkKind(LabelledDockerKind[Network, SeenNetwork]):
    kind: ClassVar[str] = "network"
    section: ClassVar[str] = "networks"

    def _observe_host(self, host: str, desired: Mapping[str, Network]) -> dict[str, Observation]:
        client = self.client(host)
        wanted: dict[str, str] = {}
        for summary in client.networks():
            labels = summary.get("Labels") or {}
            if self.elsewhere(labels, host):
                continue
            address = labels.get(ADDRESS, "") if labels.get(MANAGED) == "true" else ""
            if address.startswith("network."):
                wanted[address.partition(".")[2]] = summary["Id"]
            elif summary["Name"] in desired:
                wanted.setdefault(summary["Name"], summary["Id"])
        observed = {}
        for name, network_id in wanted.items():
            try:
                record = client.inspect_network(network_id)
            except NotFound:
                continue
            seen = observation(host, record, self.ctx.state.settings.name)
            if name not in desired and seen.data.owner in ("another state", "legacy"):
                continue  # another state's, or made before state names and not declared here: never planned
            observed[name] = seen
        return observed

    # --- ownership (kinds/ownership.py decides; these are the network's own words) ----------

    def unreachable_remedy(self, where: str) -> str:
        return f"make host {where} reachable"

    def create(self, name: str, desired: Network, frame: Action) -> Action:
        shown = created_fields(desired.model_dump(mode="json", exclude_defaults=True, exclude={"host"}))
        return with_action(frame, "create", [], shown)

    def delete(self, name: str, seen: SeenNetwork, frame: Action) -> Action:
        """A removed network may still hold containers that are being removed: it goes after them."""
        declared = {f"container.{n}" for n, c in self.ctx.state.containers.items() if c.host == seen.host}
        observed = (self.ctx.observed or {}).get("container", {})
        on_host = {f"container.{n}" for n, o in observed.items() if o.data.host == seen.host}
        deleted = with_action(frame, "delete", ["no longer declared"], [])
        return deleted.model_copy(update={"depends_on": sorted(declared | on_host)})

    def claim(self, planned: Action, name: str, seen: SeenNetwork) -> Action:
        how = "a network's labels cannot change, so it is stamped when it is next replaced"
        return planned.model_copy(update={"reasons": [claim_reason(f"network {name}", how), *planned.reasons]})

    def compare(self, name: str, desired: Network, seen: SeenNetwork, frame: Action) -> Action:
        changes = compare(desired, seen)
        if not changes:
            return frame
        reasons = [f"{change.path} changed" for change in changes]
        if seen.containers:
            return with_action(
                frame, "replace", reasons, changes,
                Blocked(reason=f"a network cannot change in place, and {', '.join(seen.containers)} "
                        f"{'is' if len(seen.containers) == 1 else 'are'} attached to it",
                        remedy="declare the change under a new network name and move the containers to it, "
                        "or remove the containers first"),
            )  # fmt: skip
        return with_action(frame, "replace", reasons, changes)

    def remove(self, seen: SeenNetwork) -> None:
        self.client(seen.host).remove_network(seen.id)

    def make(self, name: str, spec: Network) -> None:
        self.client(spec.host or "").create_network(
            name,
            driver=spec.driver,
            options=dict(spec.driver_opts) or None,
            internal=spec.internal,
            attachable=spec.attachable or None,
            enable_ipv6=spec.enable_ipv6,
            labels={**spec.labels, **docker_stamp(_address(name), spec.host or "", self.ctx.state.settings.name)},
            check_duplicate=True,
        )


KIND = NetworkKind
