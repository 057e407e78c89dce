"""The managed proxy (`proxies:`): an HAProxy container per Docker host that publishes the host ports
of the containers that declare `proxy:` and sends each request to the container that holds the
route's name now. Its image, ports and networks replace it (its ports are down meanwhile: say so);
its routes change in place, by a graceful reload (haproxy.py).

The seam, as every owned kind has it: observe → a snapshot of SeenProxy (whose each proxy is: held,
from its labels; a container that holds a declared proxy's name without them is unmanaged) →
kinds/ownership.py decides create / block / claim / delete → this kind's comparison and steps."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import docker

from reconciler.clients.docker import NotFound, inspect_image
from reconciler.errors import ReconcileError
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.container.start import wait_started
from reconciler.kinds.docker_hosts import LabelledDockerKind
from reconciler.kinds.identity import STATE_LABEL, Owner, claim_change, claim_reason, docker_stamp, owner_of
from reconciler.kinds.ownership import with_action
from reconciler.kinds.proxy.haproxy import (
    COMMAND,
    Upstream,
    comparable,
    read_model,
    route_lines,
    upstreams_of,
    wait_ready,
    write_model,
)
from reconciler.kinds.proxy.routes import (
    ADDRESS,
    MANAGED,
    live_upstreams,
    networks_of,
    ours,
    routes_through,
    sync,
    wanted_config,
)
from reconciler.model.proxy import Proxy
from reconciler.plan.digest import digest_json
from reconciler.plan.schema import Action, Blocked, Change

RESTART = "unless-stopped"
DEFAULT_NETWORK = "bridge"  # where a proxy that joins no declared network runs: the engine's default


@dataclass(frozen=True)
class SeenProxy:
    host: str
    id: str
    owner: Owner | None  # None: a container holds the declared proxy's name without being one reconcile made
    stamped_state: str | None = None  # the state name it carries (reconciler.state), if any
    status: str = ""
    image: str = ""  # the reference it was made from
    image_id: str = ""
    tag_image_id: str | None = None  # what that reference names on the host now
    ports: tuple[int, ...] = ()
    networks: tuple[str, ...] = ()
    config: dict[str, Any] | None = None  # what reconcile last loaded into it
    upstreams: Mapping[str, Upstream] = field(
        default_factory=dict
    )  # container key → where its route goes (the name holder's address)


def _address(name: str) -> str:
    return f"proxy.{name}"


def _ports(record: dict[str, Any]) -> tuple[int, ...]:
    bindings = (record.get("HostConfig") or {}).get("PortBindings") or {}
    return tuple(sorted(int(b["HostPort"]) for bound in bindings.values() for b in bound or () if b.get("HostPort")))


class ProxyKind(LabelledDockerKind[Proxy, SeenProxy]):
    kind: ClassVar[str] = "proxy"
    made: ClassVar[str] = "created and started"
    removed: ClassVar[str] = "stopped and removed"
    section: ClassVar[str] = "proxies"

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        self.published: dict[str, dict[int, str]] = {}  # host → host port → the container of ours publishing it

    def _observe_host(self, host: str, desired: Mapping[str, Proxy]) -> dict[str, Observation]:
        """One listing of the host's managed containers: every state's proxies (whose each is), and
        this state's containers (the routes' upstreams, the host ports they hold); then, for a
        declared proxy none of them is, the container that holds its name, if any."""
        client = self.client(host)
        state = self.ctx.state.settings.name
        listing = list(client.containers(all=True, filters={"label": f"{MANAGED}=true"}))
        mine = [summary for summary in listing if (summary.get("Labels") or {}).get(STATE_LABEL) == state]
        upstreams = live_upstreams(mine, self.ctx.state)
        self.published[host] = {
            port["PublicPort"]: (summary.get("Names") or ["?"])[0].lstrip("/")
            for summary in mine
            if not (summary.get("Labels") or {}).get(ADDRESS, "").startswith("proxy.")
            for port in summary.get("Ports") or ()
            if port.get("PublicPort")
        }
        observed = {}
        for summary in listing:
            labels = summary.get("Labels") or {}
            address = labels.get(ADDRESS, "")
            if not address.startswith("proxy.") or self.elsewhere(labels, host):
                continue
            name = address.removeprefix("proxy.")
            owner = owner_of(labels.get(STATE_LABEL), state)
            if owner != "ours" and name not in desired:
                continue  # another state's, or legacy and not declared here: never planned
            if owner == "another state":
                seen = SeenProxy(host=host, id=summary["Id"], owner=owner, stamped_state=labels.get(STATE_LABEL))
                observed[name] = Observation(digest_json({"id": seen.id, "owner": owner}), seen)
                continue
            found = self._inspect(client, host, summary["Id"], owner, desired.get(name), upstreams)
            if found is not None:
                observed[name] = found
        for name in sorted(desired.keys() - observed.keys()):
            with contextlib.suppress(NotFound):
                record = client.inspect_container(name)
                seen = SeenProxy(host=host, id=record["Id"], owner=None, status=(record.get("State") or {}).get("Status", ""))
                observed[name] = Observation(digest_json({"id": seen.id, "owner": None}), seen)
        return observed

    def _inspect(
        self, client: docker.APIClient, host: str, container_id: str, owner: Owner, spec: Proxy | None,
        upstreams: Mapping[str, Upstream],
    ) -> Observation | None:  # fmt: skip
        """One proxy of ours (or a legacy one to claim), as the comparison needs it (None: gone meanwhile)."""
        try:
            record = client.inspect_container(container_id)
            config = read_model(client, container_id)
        except NotFound:
            return None
        reference = (record.get("Config") or {}).get("Image", "")
        tag = inspect_image(client, spec.image if spec is not None else reference)
        seen = SeenProxy(
            host=host, id=record["Id"], owner=owner, status=(record.get("State") or {}).get("Status", ""), image=reference,
            image_id=record["Image"], tag_image_id=tag["Id"] if tag else None, ports=_ports(record),
            networks=tuple(sorted((record.get("NetworkSettings") or {}).get("Networks") or {})),
            config=config, upstreams=upstreams_of(config) | dict(upstreams),
        )  # fmt: skip
        material = {
            "id": seen.id,
            "status": seen.status,
            "config": config,
            "upstreams": {k: [u.name, u.address] for k, u in upstreams.items()},
        }
        return Observation(digest_json(material if owner == "ours" else {**material, "owner": owner}), seen)

    def _wanted(self, name: str, spec: Proxy) -> dict[str, Any]:
        routes = routes_through(self.ctx.state, name)
        return {
            "image": spec.image,
            "ports": sorted({route.publish for route in routes.values()}),
            "networks": networks_of(self.ctx.state, name),
        }

    # --- ownership (kinds/ownership.py decides; these are the proxy's own words) -------------

    def frame(self, name: str, desired: Proxy | None, observed: Observation | None) -> Action:
        networks = networks_of(self.ctx.state, name) if desired is not None else []
        depends_on = [f"network.{n}" for n in networks if n in self.ctx.state.networks]
        return super().frame(name, desired, observed).model_copy(update={"depends_on": depends_on})

    def unreachable_remedy(self, where: str) -> str:
        return f"make host {where} reachable"

    def unmanaged(self, name: str, desired: Proxy, seen: SeenProxy, frame: Action) -> Action:
        return with_action(
            frame, "create", [f"a container named {name} already exists on host {seen.host} and is not this proxy"], [],
            Blocked(reason=f"container {name} on host {seen.host} holds the proxy's name and is not a proxy reconcile made",
                    remedy="remove or rename that container, or give the proxy another name"),
        )  # fmt: skip

    def claim(self, planned: Action, name: str, seen: SeenProxy) -> Action:
        """A legacy proxy (no state name) this state declares: a container's labels cannot change,
        so it is recreated carrying ours (stop-first, as any replace of the proxy)."""
        state = self.ctx.state.settings.name
        how = f"its labels cannot change, so apply recreates it carrying {STATE_LABEL}={state}"
        reasons = [claim_reason(f"proxy {name}", how), *planned.reasons]
        if planned.action != "replace":
            reasons.append("stop-first: the proxy itself is recreated, so its ports are down meanwhile")
        changes = [*planned.changes, claim_change("owner", state)]
        return planned.model_copy(update={"action": "replace", "reasons": reasons, "changes": changes})

    def create(self, name: str, desired: Proxy, frame: Action) -> Action:
        wanted = self._wanted(name, desired)
        created = [Change(path=key, before=None, after=value) for key, value in wanted.items()]
        return with_action(frame, "create", [], created, self._ports_held(desired.host or "", wanted["ports"]))

    def compare(self, name: str, desired: Proxy, seen: SeenProxy, frame: Action) -> Action:
        """Pure: image, ports and networks replace it (stop-first); routes load in place."""
        wanted = self._wanted(name, desired)
        networks = [n for n in seen.networks if n != DEFAULT_NETWORK] if not wanted["networks"] else list(seen.networks)
        have = {"image": seen.image, "ports": list(seen.ports), "networks": networks}
        changes = [Change(path=k, before=have[k], after=v) for k, v in wanted.items() if have[k] != v]
        if seen.tag_image_id and seen.tag_image_id != seen.image_id and not changes:
            changes.append(
                Change(
                    path="image",
                    before=f"{seen.image} ({seen.image_id[7:19]})",
                    after=f"{desired.image} ({seen.tag_image_id[7:19]})",
                )
            )
        if changes:
            why = [f"{c.path} changed" for c in changes]
            added = [port for port in wanted["ports"] if port not in seen.ports]
            why.append("stop-first: the proxy itself is recreated, so its ports are down meanwhile")
            return with_action(frame, "replace", why, changes, self._ports_held(seen.host, added))
        config = wanted_config(self.ctx.state, name, seen.upstreams)
        now, then = route_lines(seen.config), route_lines(config)
        changes = [
            Change(path=f"routes.{key}", before=now.get(key), after=then.get(key))
            for key in sorted(now.keys() | then.keys())
            if now.get(key) != then.get(key)
        ]
        if seen.status != "running":
            changes.insert(0, Change(path="state", before=seen.status, after="running"))
        if not changes and comparable(seen.config) != comparable(config):
            changes.append(Change(path="config", before="not as declared", after="as declared (drain, listeners)"))
        if not changes:
            return frame
        return with_action(frame, "update", [f"{c.path} changed" if c.path != "state" else "start" for c in changes], changes)

    def _ports_held(self, host: str, ports: list[int]) -> Blocked | None:
        """A port the proxy is to publish that a container of ours publishes itself: the proxy
        cannot bind it while that container runs (a service moving behind the proxy)."""
        held = {port: self.published.get(host, {})[port] for port in ports if port in self.published.get(host, {})}
        if not held:
            return None
        said = ", ".join(f"{port} (container {name})" for port, name in sorted(held.items()))
        return Blocked(
            reason=f"host port {said} is published by the container itself, so the proxy cannot bind it yet",
            remedy="move the service behind the proxy in two applies: first its ports: without that host port (a "
            "stop-first replace), then its proxy: route",
        )

    def remove(self, seen: SeenProxy) -> None:
        with contextlib.suppress(NotFound):
            self.ctx.docker(seen.host).remove_container(seen.id, force=True)

    def act_more(self, step: Step, seen: SeenProxy | None) -> StepResult:
        action = step.action
        if action.action == "update":
            assert step.desired is not None and seen is not None
            if seen.status != "running":
                self.ctx.docker(seen.host).start(seen.id)
                wait_ready(self.ctx.docker(seen.host), seen.id)
            sync(self.ctx, seen.host, action.name)
            return StepResult(True, "routes loaded")
        return StepResult(True, "nothing to do")

    def make(self, name: str, spec: Proxy) -> None:
        host = spec.host or ""
        client = self.ctx.docker(host)
        wanted = self._wanted(name, spec)
        networks = wanted["networks"]
        self.ctx.progress(_address(name), f"creating proxy {name}")
        created = client.create_container(
            image=spec.image,
            name=name,
            command=COMMAND,
            labels=docker_stamp(_address(name), host, self.ctx.state.settings.name),
            ports=[(port, "tcp") for port in wanted["ports"]] or None,
            host_config=client.create_host_config(
                port_bindings={f"{port}/tcp": port for port in wanted["ports"]} or None,
                restart_policy={"Name": RESTART},
                network_mode=networks[0] if networks else None,
            ),
            detach=True,
        )
        for network in networks[1:]:
            client.connect_container_to_network(created["Id"], network)
        upstreams = live_upstreams(ours(client, self.ctx.state.settings.name), self.ctx.state)
        write_model(client, created["Id"], wanted_config(self.ctx.state, name, upstreams))
        client.start(created["Id"])
        failed = wait_started(client, created["Id"], RESTART, self.ctx.aborting, ())
        if failed is not None:
            raise ReconcileError(f"the proxy {failed}")
        wait_ready(client, created["Id"])


KIND = ProxyKind
