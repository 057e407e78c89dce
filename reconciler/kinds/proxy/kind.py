"""The managed proxy (`proxies:`): a Caddy container per Docker host that publishes the host ports of
the containers that declare `proxy:` and sends each request to the container that holds the route's
name now. Its image, ports and networks replace it (its ports are down meanwhile: say so); its
routes change in place, through Caddy's admin API (caddy.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.clients.docker import CONNECTION_ERRORS, APIError, NotFound, explain, inspect_image
from reconciler.errors import ReconcileError
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.container.start import wait_started
from reconciler.kinds.docker_hosts import observe_each_host
from reconciler.kinds.identity import STATE_LABEL
from reconciler.kinds.proxy.caddy import COMMAND, read_config, write_config
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
from reconciler.plan.digest import ABSENT, digest_json
from reconciler.plan.schema import Action, ActionKind, Blocked, Change, Finding

HOST = "reconciler.host"
RESTART = "unless-stopped"
UNOBSERVED = "unobserved"


@dataclass(frozen=True)
class SeenProxy:
    host: str
    id: str
    status: str
    image: str  # the reference it was made from
    image_id: str
    tag_image_id: str | None  # what that reference names on the host now
    ports: tuple[int, ...]
    networks: tuple[str, ...]
    config: dict[str, Any] | None  # what reconcile last loaded into it
    upstreams: Mapping[str, str]  # container key → the short id of the container that holds the name


def _address(name: str) -> str:
    return f"proxy.{name}"


def _ports(record: dict[str, Any]) -> tuple[int, ...]:
    bindings = (record.get("HostConfig") or {}).get("PortBindings") or {}
    return tuple(sorted(int(b["HostPort"]) for bound in bindings.values() for b in bound or () if b.get("HostPort")))


def _route_lines(config: dict[str, Any] | None) -> dict[str, str]:
    """Each route of a config, as a plan shows it: `:8080 app.example/api → 1a2b3c4d5e6f:80`."""
    lines = {}
    for server in ((config or {}).get("apps", {}).get("http", {}).get("servers") or {}).values():
        listen = ",".join(server.get("listen") or [])
        for route in server.get("routes") or []:
            if "@id" not in route:
                continue
            match = (route.get("match") or [{}])[0]
            where = "".join(match.get("host") or ["*"]) + ((match.get("path") or ["/"])[0])
            dial = route["handle"][0]["upstreams"][0]["dial"]
            lines[str(route["@id"])] = f"{listen} {where} → {dial}"
    return lines


class ProxyKind:
    kind: ClassVar[str] = "proxy"
    section: ClassVar[str] = "proxies"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.unreachable: dict[str, str] = {}
        self.held: dict[str, dict[int, str]] = {}  # host → host port → the container of ours that publishes it

    def observe(self, desired: Mapping[str, Proxy]) -> Mapping[str, Observation]:
        return observe_each_host(
            self.ctx.state,
            lambda host: self._observe_host(host, {n: s for n, s in desired.items() if s.host == host}),
            self.unreachable,
            engine_optional=self.ctx.state.hosts_implicit and not desired,
        )

    def _observe_host(self, host: str, desired: Mapping[str, Proxy]) -> dict[str, Observation]:
        client = self.ctx.docker(host)
        listing = ours(client, self.ctx.state.settings.name)
        upstreams = live_upstreams(listing)
        self.held[host] = {
            port["PublicPort"]: (summary.get("Names") or ["?"])[0].lstrip("/")
            for summary in listing
            if not (summary.get("Labels") or {}).get(ADDRESS, "").startswith("proxy.")
            for port in summary.get("Ports") or ()
            if port.get("PublicPort")
        }
        observed = {}
        for summary in listing:
            labels = summary.get("Labels") or {}
            address = labels.get(ADDRESS, "")
            if not address.startswith("proxy.") or labels.get(HOST, host) != host:
                continue
            name = address.removeprefix("proxy.")
            try:
                record = client.inspect_container(summary["Id"])
                config = read_config(client, summary["Id"])
            except NotFound:
                continue
            reference = (record.get("Config") or {}).get("Image", "")
            wanted = desired[name].image if name in desired else reference
            tag = inspect_image(client, wanted)
            seen = SeenProxy(
                host=host, id=record["Id"], status=(record.get("State") or {}).get("Status", ""), image=reference,
                image_id=record["Image"], tag_image_id=tag["Id"] if tag else None, ports=_ports(record),
                networks=tuple(sorted((record.get("NetworkSettings") or {}).get("Networks") or {})),
                config=config, upstreams=upstreams,
            )  # fmt: skip
            material = {"id": seen.id, "status": seen.status, "config": config, "upstreams": dict(upstreams)}
            observed[name] = Observation(digest_json(material), seen)
        return observed

    def _wanted(self, name: str, spec: Proxy) -> dict[str, Any]:
        routes = routes_through(self.ctx.state, name)
        return {
            "image": spec.image,
            "ports": sorted({route.publish for route in routes.values()}),
            "networks": networks_of(self.ctx.state, name),
        }

    def diff(self, name: str, desired: Proxy | None, observed: Observation | None) -> Action:
        address = _address(name)
        seen: SeenProxy | None = observed.data if observed else None
        host = desired.host if desired else seen.host if seen else None
        wanted = self._wanted(name, desired) if desired else {}

        def action(kind: ActionKind, reasons: list[str], changes: list[Change], blocked: Blocked | None = None) -> Action:
            depends_on = [f"network.{n}" for n in wanted.get("networks", ()) if n in self.ctx.state.networks]
            return Action(
                address=address, type=self.kind, action=kind, reasons=reasons, changes=changes, host=host,
                observed_digest=observed.digest if observed else ABSENT, depends_on=depends_on, blocked=blocked,
            )  # fmt: skip

        if host in self.unreachable and seen is None:
            return Action(
                address=address, type=self.kind, action="noop", observed_digest=UNOBSERVED, host=host,
                reasons=[f"host {host} could not be observed"],
                blocked=Blocked(reason=self.unreachable[host], remedy=f"make host {host} reachable"),
            )  # fmt: skip
        if desired is None:
            return action("delete", ["no longer declared"], []) if seen else action("noop", [], [])
        if seen is None:
            created = [Change(path=key, before=None, after=value) for key, value in wanted.items()]
            return action("create", [], created, self._ports_held(host or "", wanted["ports"]))
        have = {"image": seen.image, "ports": list(seen.ports), "networks": list(seen.networks)}
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
            return action("replace", why, changes, self._ports_held(seen.host, added))
        now, then = _route_lines(seen.config), _route_lines(wanted_config(self.ctx.state, name, seen.upstreams))
        changes = [
            Change(path=f"routes.{key}", before=now.get(key), after=then.get(key))
            for key in sorted(now.keys() | then.keys())
            if now.get(key) != then.get(key)
        ]
        if seen.status != "running":
            changes.insert(0, Change(path="state", before=seen.status, after="running"))
        if not changes and seen.config != wanted_config(self.ctx.state, name, seen.upstreams):
            changes.append(Change(path="config", before="not as declared", after="as declared (drain, listeners)"))
        if not changes:
            return action("noop", [], [])
        return action("update", [f"{c.path} changed" if c.path != "state" else "start" for c in changes], changes)

    def _ports_held(self, host: str, ports: list[int]) -> Blocked | None:
        """A port the proxy is to publish that a container of ours publishes itself: the proxy
        cannot bind it while that container runs (a service moving behind the proxy)."""
        held = {port: self.held.get(host, {})[port] for port in ports if port in self.held.get(host, {})}
        if not held:
            return None
        said = ", ".join(f"{port} (container {name})" for port, name in sorted(held.items()))
        return Blocked(
            reason=f"host port {said} is published by the container itself, so the proxy cannot bind it yet",
            remedy="move the service behind the proxy in two applies: first its ports: without that host port (a "
            "stop-first replace), then its proxy: route",
        )

    def findings(self, name: str, desired: Proxy | None, observed: Observation | None) -> list[Finding]:
        return []

    def apply(self, step: Step) -> StepResult:
        action = step.action
        seen: SeenProxy | None = step.observed.data if step.observed else None
        try:
            if action.action in ("delete", "replace") and seen is not None:
                client = self.ctx.docker(seen.host)
                with contextlib.suppress(NotFound):
                    client.remove_container(seen.id, force=True)
                if action.action == "delete":
                    return StepResult(True, "stopped and removed")
            if action.action in ("create", "replace"):
                assert step.desired is not None
                self._create(action.name, step.desired)
                return StepResult(True, "created and started" if action.action == "create" else "replaced")
            if action.action == "update":
                assert step.desired is not None and seen is not None
                if seen.status != "running":
                    self.ctx.docker(seen.host).start(seen.id)
                sync(self.ctx, seen.host, action.name)
                return StepResult(True, "routes loaded")
        except ReconcileError as error:
            return StepResult(False, str(error))
        except APIError as error:
            return StepResult(False, explain(error))
        except CONNECTION_ERRORS as error:
            return StepResult(False, explain(error))
        return StepResult(True, "nothing to do")

    def _create(self, name: str, spec: Proxy) -> None:
        host = spec.host or ""
        client = self.ctx.docker(host)
        wanted = self._wanted(name, spec)
        networks = wanted["networks"]
        self.ctx.progress(_address(name), f"creating proxy {name}")
        created = client.create_container(
            image=spec.image,
            name=name,
            command=COMMAND,
            labels={MANAGED: "true", ADDRESS: _address(name), HOST: host, STATE_LABEL: self.ctx.state.settings.name},
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
        upstreams = live_upstreams(ours(client, self.ctx.state.settings.name))
        write_config(client, created["Id"], wanted_config(self.ctx.state, name, upstreams))
        client.start(created["Id"])
        failed = wait_started(client, created["Id"], RESTART, self.ctx.aborting, ())
        if failed is not None:
            raise ReconcileError(f"the proxy {failed}")

    def verify(self) -> dict[str, StepResult]:
        return {}


KIND = ProxyKind
