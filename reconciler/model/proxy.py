"""The proxy in front of services that publish ports (README: Zero-downtime replace): the top-level
`proxies:` section (one managed reverse proxy per Docker host) and a container's `proxy:` route."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.model.fields import Duration, ImageReference, Name, String, SubpathError
from reconciler.units import PortMapping

DEFAULT_DRAIN = timedelta(seconds=5)
# what a route's hostname and path may hold: none of the characters the proxy's config syntax gives
# a meaning (spaces, quotes, backslash, '#', '$'), so they are written into it as they are
HOSTNAME_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
PATH_PUNCTUATION = "/ . _ ~ - ! & ( ) * + , ; = : @ %"
PATH_PATTERN = r"/[A-Za-z0-9/._~!&()*+,;=:@%-]*"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)


class Proxy(_Section):
    host: Name | None = None
    """The Docker host it runs on; defaults to the only host."""
    image: ImageReference
    """An image with HAProxy and socat on PATH, e.g. reconciler-proxy/haproxy:2 from scripts/proxy-image."""


class ProxyRoute(_Section):
    publish: int = Field(json_schema_extra={"minimum": 1, "maximum": 65535}, strict=True, ge=1, le=65535)
    """The host port the proxy publishes for this service (the one the service published itself)."""
    port: int = Field(json_schema_extra={"minimum": 1, "maximum": 65535}, strict=True, ge=1, le=65535)
    """The container's port the proxy sends the requests to."""
    hostname: String | None = None
    """Only requests for this Host (e.g. app.example); default: any."""
    path: String = "/"
    """Only requests under this path prefix; default: every path."""
    drain: Duration = DEFAULT_DRAIN
    """After a replace has switched the proxy to the new container, how long the old one keeps
    serving the requests it already has before it is stopped."""
    via: Name | None = None
    """The proxy (under proxies:) to go through; defaults to the only proxy on the container's host."""


def proxy_of(route: ProxyRoute, container_host: str | None, proxies: dict[str, Proxy]) -> str | None:
    """The proxy a route goes through: its ``via``, else the only proxy on the container's host."""
    if route.via is not None:
        return route.via
    on_host = [name for name, proxy in proxies.items() if proxy.host == container_host]
    return on_host[0] if len(on_host) == 1 else None


def check_route(route: ProxyRoute | None, ports: Sequence[PortMapping], network_mode: str) -> None:
    """A proxied container is reached on its network, and leaves its host port to the proxy."""
    if route is None:
        return
    if network_mode != "bridge":
        raise SubpathError(f"a proxy reaches the container on its network: network_mode {network_mode} has none", "proxy")
    for index, port in enumerate(ports):
        if port.host_start is not None and port.host_end is not None and port.host_start <= route.publish <= port.host_end:
            raise SubpathError(
                f"host port {route.publish} is published by the proxy: remove it from the container's ports", "ports", index
            )
    if not route.path.startswith("/"):
        raise SubpathError(f"a path starts with /, got {route.path!r}", "proxy", "path")
    if not re.fullmatch(PATH_PATTERN, route.path):
        raise SubpathError(f"a path is letters, digits and {PATH_PUNCTUATION} only, got {route.path!r}", "proxy", "path")
    if route.hostname is not None and not re.fullmatch(HOSTNAME_PATTERN, route.hostname):
        raise SubpathError(f"a hostname is letters, digits, '.' and '-', got {route.hostname!r}", "proxy", "hostname")


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def route_references(document: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each container's proxy: names a declared proxy on its host (or its host has exactly one),
    on the raw document (model/refs.py reports them with their places)."""
    proxies, containers, hosts = (_mapping(document.get(key)) for key in ("proxies", "containers", "hosts"))
    only_host = next(iter(hosts)) if len(hosts) == 1 else None if hosts else "local"

    def host_of(resource: dict[str, Any]) -> object:
        return resource.get("host") or only_host

    for name, container in containers.items():
        route = container.get("proxy") if isinstance(container, dict) else None
        if not isinstance(route, dict):
            continue
        on_host = sorted(p for p, proxy in proxies.items() if isinstance(proxy, dict) and host_of(proxy) == host_of(container))
        via = route.get("via")
        if isinstance(via, str) and via not in proxies:
            yield ("containers", name, "proxy", "via"), f"no proxy {via!r} under proxies: ({', '.join(proxies) or 'none'})"
        elif isinstance(via, str) and host_of(proxies[via]) != host_of(container):
            yield ("containers", name, "proxy", "via"), f"proxy {via!r} runs on another host than the container"
        elif via is None and len(on_host) != 1:
            found = (
                f"{len(on_host)} ({', '.join(on_host)}): name one with via:" if on_host else "none: declare one under proxies:"
            )
            yield ("containers", name, "proxy"), f"the proxies on the container's host are {found}"
