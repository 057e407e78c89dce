"""Caddy as the proxy: its JSON config made from the declared routes (pure), and the config loaded
into a running proxy through Caddy's admin API (POST /load, by `caddy reload` run in the container
through the Engine API: the admin endpoint listens on the container's own loopback only, and an
exec reaches it on any host, local, TLS or SSH)."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

import docker

from reconciler.clients.docker import NotFound
from reconciler.errors import ReconcileError
from reconciler.kinds.container.start import LOG_LINE_CHARS
from reconciler.model.proxy import ProxyRoute

CONFIG_PATH = "/etc/caddy/reconcile.json"
ADMIN = "localhost:2019"
COMMAND = ["caddy", "run", "--config", CONFIG_PATH]
NO_ROUTE_STATUS = 502


@dataclass(frozen=True)
class Route:
    """One container's route through the proxy, with the container it goes to now (None: none yet)."""

    container: str  # its key under containers:
    route: ProxyRoute
    upstream: str | None  # the container's short id: the engine's DNS answers to it on every network it joins


def render(routes: list[Route]) -> dict[str, Any]:
    """Caddy's config: one server per published port; on each, the most specific match first (a
    hostname before none, a longer path before a shorter one); a request that matches no route gets
    a 502 saying so (Caddy's own answer would be an empty 200). A route whose container does not
    run yet is left out. The old server's in-flight requests get the longest drain to finish."""
    servers: dict[str, Any] = {}
    drain = max((r.route.drain.total_seconds() for r in routes), default=0.0)
    for publish in sorted({r.route.publish for r in routes}):
        on_port = sorted(
            (r for r in routes if r.route.publish == publish and r.upstream is not None),
            key=lambda r: (r.route.hostname is None, -len(r.route.path), r.container),
        )
        handlers = [_route(r) for r in on_port]
        handlers.append({"handle": [{"handler": "static_response", "status_code": NO_ROUTE_STATUS, "body": "no route\n"}]})
        plain = {"disable": True}  # plain HTTP on every port, host matchers or not (TLS ends in front, or nowhere)
        servers[f"port{publish}"] = {"listen": [f":{publish}"], "routes": handlers, "automatic_https": plain}
    http: dict[str, Any] = {"servers": servers}
    if drain:
        http["grace_period"] = int(drain * 1e9)
    return {"admin": {"listen": ADMIN}, "apps": {"http": http}}


def _route(r: Route) -> dict[str, Any]:
    match: dict[str, Any] = {}
    if r.route.hostname:
        match["host"] = [r.route.hostname]
    path = r.route.path.rstrip("/")
    if path:
        match["path"] = [path, f"{path}/*"]
    return {
        "@id": f"container.{r.container}",
        **({"match": [match]} if match else {}),
        "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": f"{r.upstream}:{r.route.port}"}]}],
        "terminal": True,
    }


def upstreams_of(config: dict[str, Any] | None) -> dict[str, str]:
    """Container key → the short id a loaded config sends its requests to."""
    found: dict[str, str] = {}
    for server in ((config or {}).get("apps", {}).get("http", {}).get("servers") or {}).values():
        for route in server.get("routes") or []:
            address = str(route.get("@id", ""))
            if address.startswith("container."):
                dial = route["handle"][0]["upstreams"][0]["dial"]
                found[address.removeprefix("container.")] = str(dial).rpartition(":")[0]
    return found


def read_config(client: docker.APIClient, container_id: str) -> dict[str, Any] | None:
    """The config reconcile last loaded into the proxy (None: none it can read)."""
    try:
        chunks, _ = client.get_archive(container_id, CONFIG_PATH)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        member = archive.next()
        handle = archive.extractfile(member) if member else None
        try:
            loaded = json.loads(handle.read()) if handle else None
        except ValueError:
            return None
    return loaded if isinstance(loaded, dict) else None


def write_config(client: docker.APIClient, container_id: str, config: dict[str, Any]) -> None:
    """The config as the proxy's file (read by `caddy run` at start, and by load below)."""
    data = json.dumps(config, indent=1, sort_keys=True).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(CONFIG_PATH.lstrip("/"))
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
    client.put_archive(container_id, "/", buffer.getvalue())


def load(client: docker.APIClient, container_id: str, config: dict[str, Any]) -> None:
    """Write the config and have the running Caddy take it (POST /load on its admin API): new
    connections go by it at once; requests already in flight finish where they were sent."""
    write_config(client, container_id, config)
    execution = client.exec_create(container_id, ["caddy", "reload", "--config", CONFIG_PATH, "--address", ADMIN])
    output = client.exec_start(execution["Id"]).decode(errors="replace").strip()
    code = client.exec_inspect(execution["Id"]).get("ExitCode")
    if code != 0:
        last = output.splitlines()[-1] if output else "(no output)"
        raise ReconcileError(f"the proxy refused its new routes (caddy reload exit {code}): {last[:LOG_LINE_CHARS]}")
