"""Which containers go through which proxy, where their requests go now (each container's address
on a network it shares with the proxy), and the two ways a route changes: a graceful reload of the
proxy's routes (the proxy kind's update, a container's create) and a replace's switch through the
runtime API, which reloads nothing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any

import docker

from reconciler.clients.docker import APIError, NotFound, explain
from reconciler.errors import ReconcileError
from reconciler.kinds.base import RunContext
from reconciler.kinds.container.recovery import REPLACEMENT_SUFFIX
from reconciler.kinds.identity import STATE_LABEL
from reconciler.kinds.proxy.haproxy import (
    Route,
    Upstream,
    backend,
    checked_address,
    read_model,
    reload,
    render,
    retire,
    switch_server,
    upstreams_of,
    write_model,
)
from reconciler.model.proxy import ProxyRoute, proxy_of
from reconciler.model.spec import Container, State
from reconciler.units import format_duration

MANAGED = "reconciler.managed"
ADDRESS = "reconciler.address"
_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def routes_through(state: State, proxy: str) -> dict[str, ProxyRoute]:
    """The declared routes through ``proxy``, by container key."""
    return {
        name: spec.proxy
        for name, spec in sorted(state.containers.items())
        if spec.proxy is not None and spec.state != "absent" and proxy_of(spec.proxy, spec.host, state.proxies) == proxy
    }


def networks_of(state: State, proxy: str) -> list[str]:
    """The networks the proxy joins: every network of a container that goes through it."""
    return sorted({network for name in routes_through(state, proxy) for network in state.containers[name].networks})


def ours(client: docker.APIClient, state_name: str) -> list[dict[str, Any]]:
    """Every container of this state on the host, as the engine lists them (one call)."""
    filters = {"label": [f"{MANAGED}=true", f"{STATE_LABEL}={state_name}"]}
    return list(client.containers(all=True, filters=filters))


def address_of(record: Mapping[str, Any], spec: Container | None) -> str | None:
    """A container's IPv4 address (its listing or inspect record) on the first of its declared
    networks that gives it one, which the proxy joins (networks_of); None: none (it does not run),
    or not an IPv4 address."""
    joined = (record.get("NetworkSettings") or {}).get("Networks") or {}
    for network in sorted(spec.networks if spec is not None and spec.networks else joined):
        value = (joined.get(network) or {}).get("IPAddress")
        if value:
            with contextlib.suppress(ReconcileError):
                return checked_address(value)
    return None


def live_upstreams(listing: list[dict[str, Any]], state: State) -> dict[str, Upstream]:
    """Container key → the container that holds its name (not a replacement waiting beside it),
    whatever its status: a stopped one is its route's truth too (the proxy finds it once it runs)."""
    found = {}
    for summary in listing:
        address = (summary.get("Labels") or {}).get(ADDRESS, "")
        names = [n.lstrip("/") for n in summary.get("Names") or []]
        if address.startswith("container.") and not any(n.endswith(REPLACEMENT_SUFFIX) for n in names):
            name = address.removeprefix("container.")
            found[name] = Upstream(str(summary["Id"])[:12], address_of(summary, state.containers.get(name)))
    return found


def proxy_container(listing: list[dict[str, Any]], proxy: str) -> dict[str, Any] | None:
    return next((s for s in listing if (s.get("Labels") or {}).get(ADDRESS) == f"proxy.{proxy}"), None)


def wanted_config(state: State, proxy: str, upstreams: Mapping[str, Upstream]) -> dict[str, Any]:
    return render([Route(name, route, upstreams.get(name)) for name, route in routes_through(state, proxy).items()])


def _lock(host: str, proxy: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault((host, proxy), threading.Lock())


def sync(ctx: RunContext, host: str, proxy: str, switched: Mapping[str, str] | None = None, drain: bool = False) -> str | None:
    """Have the proxy route as declared. ``switched``: container key → the container id its route
    goes to now (a create's or a replace's new container); the other routes keep what the proxy was
    last given (another replace of this apply may have switched one), else the container that holds
    the name. None: every route goes to the running container that holds its name (a repair of
    drift). ``drain`` (a replace whose route is otherwise unchanged): switched through the runtime
    API, no reload; the slot the old one drains in is returned (None: the proxy reloaded)."""
    client = ctx.docker(host)
    with _lock(host, proxy):
        listing = ours(client, ctx.state.settings.name)
        found = proxy_container(listing, proxy)
        if found is None or found.get("State") != "running":
            raise ReconcileError(f"proxy {proxy} does not run on host {host}: apply it first (proxy.{proxy})")
        for name in switched or {}:
            _check_reaches(found, proxy, name, ctx.state.containers[name])
        current = read_model(client, found["Id"])
        live, given = live_upstreams(listing, ctx.state), upstreams_of(current)
        upstreams = live | given if switched is not None else given | live  # during an apply the proxy knows best
        for name, container_id in (switched or {}).items():
            upstreams[name] = Upstream(container_id[:12], _new_address(client, container_id, name, ctx.state.containers[name]))
        wanted = wanted_config(ctx.state, proxy, upstreams)
        if drain and switched is not None and len(switched) == 1 and current is not None:
            [(name, _)] = switched.items()
            spec = ctx.state.containers[name]
            assert spec.proxy is not None
            if _masked(current, name) == _masked(wanted, name):
                old = switch_server(client, found["Id"], name, upstreams[name], spec.proxy.port)
                if old is not None:
                    write_model(client, found["Id"], wanted)  # a later reload or restart routes the same way
                    return old
        reload(client, found["Id"], wanted)
        return None


def _masked(model: Mapping[str, Any], name: str) -> Any:
    """The model without the server of ``name``'s route: what a runtime switch of it leaves as is."""
    return {
        key: value if key != "ports" else {
            port: [{**route, "server": None, "address": None} if route["id"] == backend(name) else route for route in routes]
            for port, routes in value.items()
        }
        for key, value in model.items()
    }  # fmt: skip


def _new_address(client: docker.APIClient, container_id: str, name: str, spec: Container) -> str:
    """The address of a create's or a replace's new container, from the engine's inspect."""
    record = client.inspect_container(container_id)
    address = address_of(record, spec)
    if address is None:
        joined = ", ".join(sorted((record.get("NetworkSettings") or {}).get("Networks") or {})) or "none"
        raise ReconcileError(f"the new container of {name} has no IPv4 address on its networks ({joined}) for the proxy")
    return address


def _check_reaches(found: dict[str, Any], proxy: str, name: str, spec: Container) -> None:
    """The proxy as it runs publishes the route's port and shares a network with the container."""
    assert spec.proxy is not None
    published = {port.get("PublicPort") for port in found.get("Ports") or ()}
    joined = set((found.get("NetworkSettings") or {}).get("Networks") or {})
    if spec.proxy.publish not in published or not joined & set(spec.networks):
        raise ReconcileError(
            f"proxy {proxy} does not publish port {spec.proxy.publish} or share a network with {name} yet: "
            f"apply proxy.{proxy} first"
        )


def switch(ctx: RunContext, name: str, spec: Container, container_id: str, drain: bool) -> str:
    """Send the container's route to ``container_id``; ``drain`` (a replace): then give the requests
    the old container already has the declared grace (interrupted by a second signal). What was
    done. A replace whose switch fails removes the new container: the old one keeps serving."""
    assert spec.proxy is not None
    proxy = proxy_of(spec.proxy, spec.host, ctx.state.proxies)
    assert proxy is not None  # model/refs.py: every route names, or has, one
    ctx.progress(f"container.{name}", f"switching proxy {proxy} to the new container")
    host = spec.host or ""
    try:
        old_slot = sync(ctx, host, proxy, {name: container_id}, drain=drain)
    except (ReconcileError, APIError) as error:
        if not drain:
            raise
        with contextlib.suppress(NotFound):
            ctx.docker(spec.host or "").remove_container(container_id, force=True)
        said = str(error) if isinstance(error, ReconcileError) else explain(error)
        raise ReconcileError(f"{said}; the new container was removed and the old one keeps serving") from None
    if not drain:
        return f"routed through proxy {proxy}"
    seconds = spec.proxy.drain.total_seconds()
    ctx.progress(f"container.{name}", f"draining the old container ({format_duration(spec.proxy.drain)})")
    ctx.aborting.wait(seconds)
    if old_slot is not None:
        _retire(ctx, host, proxy, name, old_slot)
    return f"proxy {proxy} switched to it once healthy, the old one drained {format_duration(spec.proxy.drain)}"


def _retire(ctx: RunContext, host: str, proxy: str, name: str, slot: str) -> None:
    """The drained slot goes to maintenance before its container is removed."""
    client = ctx.docker(host)
    with _lock(host, proxy):
        found = proxy_container(ours(client, ctx.state.settings.name), proxy)
        if found is not None and found.get("State") == "running":
            model = read_model(client, found["Id"])
            upstream = upstreams_of(model).get(name)
            retire(client, found["Id"], name, slot, upstream.address if upstream else None)


def proxy_dependency(spec: Container, state: State) -> list[str]:
    """A container that goes through a proxy is applied after it (its replace switches it)."""
    proxy = proxy_of(spec.proxy, spec.host, state.proxies) if spec.proxy is not None and spec.state != "absent" else None
    return [f"proxy.{proxy}"] if proxy else []


def replace_reason(spec: Container, clash: bool, state: State) -> str | None:
    """What a replace plan says of the container's traffic: through the proxy, or stop-first."""
    published = sorted({p.host_start for p in spec.ports if p.host_start is not None})
    if clash:
        why = (
            "host networking"
            if spec.network_mode == "host"
            else f"it publishes host port {', '.join(map(str, published))} itself"
        )
        advice = "" if spec.proxy else " (declare proxy: to replace it without downtime)"
        return f"stop-first: {why}, so the old container stops before the new one starts{advice}"
    if spec.proxy is not None:
        proxy = proxy_of(spec.proxy, spec.host, state.proxies)
        return (
            f"through proxy {proxy} (port {spec.proxy.publish}): the new container starts beside the old one, the proxy "
            f"switches to it once it is healthy, the old one drains {format_duration(spec.proxy.drain)}, then stops"
        )
    return None
