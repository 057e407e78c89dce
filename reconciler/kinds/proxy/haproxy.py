"""HAProxy as the proxy: its routes as a small model the plan compares (render, pure) and the
haproxy.cfg made from it (config_text, pure), both written into the proxy (put_archive); a graceful
reload for routes added, removed or edited (SIGUSR2 to the master of `haproxy -W`, through the
Engine API's kill: the old worker finishes its connections); and the runtime API (`socat` in the
container, through the Engine API: the socket is the container's own) for the switch of a replace,
which reloads nothing, so the connections clients keep open with the proxy survive it.

Each route's backend has two server slots: one serves, the other waits in maintenance for the
next replace's new container. A slot names its container by short id, which the engine's DNS
answers (HAProxy asks it every second): a container the engine restarts on another address is
followed without an apply; the address reconcile read from the engine is where it starts."""

from __future__ import annotations

import io
import ipaddress
import json
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import docker

from reconciler.clients.docker import NotFound
from reconciler.errors import ReconcileError
from reconciler.kinds.container.start import LOG_LINE_CHARS
from reconciler.model.proxy import ProxyRoute

CONFIG_PATH = "/etc/haproxy/reconcile.cfg"
MODEL_PATH = "/etc/haproxy/reconcile.json"  # the routes the config was made from, as the plan reads them
ADMIN_SOCKET = "/run/haproxy/admin.sock"
COMMAND_FILE = "/run/haproxy/reconcile.command"  # one runtime API command, handed to socat as a file
COMMAND = ["haproxy", "-W", "-db", "-f", CONFIG_PATH]
NO_ROUTE_STATUS = 502
SLOTS = ("a", "b")
RELOAD_SECONDS = 10.0
OLD_WORKER_SECONDS = 60  # after a reload, the old worker's last connections are cut past the drain plus this
_MAINTENANCE, _DRAINING = 0x23, 0x18  # masks of HAProxy's srv_admin_state (show servers state)
_RUNNING = 2  # its srv_op_state


@dataclass(frozen=True)
class Upstream:
    """The container a route's requests go to."""

    name: str  # its short id: the engine's DNS answers to it on every network it joins
    address: str | None  # its IPv4 address on a network it shares with the proxy (None: it does not run)


@dataclass(frozen=True)
class Route:
    """One container's route through the proxy, with the container it goes to now (None: none yet)."""

    container: str  # its key under containers:
    route: ProxyRoute
    upstream: Upstream | None


def backend(container: str) -> str:
    return f"container.{container}"


def checked_address(value: object) -> str:
    """An engine's answer for a container's address, as HAProxy may be given it: an IPv4 address."""
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        raise ReconcileError(f"the engine gave {str(value)[:60]!r} as the container's address, not an IPv4 address") from None


def render(routes: list[Route]) -> dict[str, Any]:
    """The proxy's routes: per published port, the most specific match first (a hostname before
    none, a longer path before a shorter one), each with the server it goes to. A route whose
    container does not exist yet is left out (its requests get the 502 `no route`). The old
    worker of a reload gets the longest drain to finish its requests."""
    ports: dict[str, list[dict[str, Any]]] = {}
    for publish in sorted({r.route.publish for r in routes}):
        on_port = sorted(
            (r for r in routes if r.route.publish == publish and r.upstream is not None),
            key=lambda r: (r.route.hostname is None, -len(r.route.path), r.container),
        )
        ports[str(publish)] = [
            {
                "id": backend(r.container),
                "hostname": r.route.hostname,
                "path": r.route.path.rstrip("/"),
                "server": f"{upstream.name}:{r.route.port}",
                "address": upstream.address,
            }
            for r in on_port
            if (upstream := r.upstream) is not None
        ]
    drain = max((r.route.drain.total_seconds() for r in routes), default=0.0)
    return {"drain_seconds": drain, "ports": ports}


def config_text(model: dict[str, Any]) -> str:
    """haproxy.cfg for the model. Hostnames and paths are the model's, checked there
    (model/proxy.py) to hold no character HAProxy's config syntax gives a meaning."""
    stop_after = int(model.get("drain_seconds", 0)) + OLD_WORKER_SECONDS
    lines = [
        "global",
        f"  stats socket {ADMIN_SOCKET} mode 600 level admin",
        f"  hard-stop-after {stop_after}s",
        "resolvers engine",
        "  parse-resolv-conf",  # the engine's DNS (127.0.0.11 on its user-defined networks)
        "  timeout resolve 1s",
        "  timeout retry 1s",
        "  hold valid 1s",
        *(f"  hold {status} 1h" for status in ("nx", "timeout", "refused", "other")),  # a silence moves nothing
        "defaults",
        "  mode http",
        "  option idle-close-on-response",  # a reload answers a kept connection's next request, then closes it
        "  option redispatch",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
        "  timeout http-keep-alive 60s",
        "backend no_route",
        f'  http-request return status {NO_ROUTE_STATUS} content-type text/plain string "no route"',
    ]
    for publish, routes in model.get("ports", {}).items():
        lines += [f"frontend port{int(publish)}", f"  bind :{int(publish)}"]
        for route in routes:
            condition = ""
            if route["hostname"]:
                lines.append(f"  acl host.{route['id']} req.hdr(host),field(1,:) -i -m str {route['hostname']}")
                condition += f" host.{route['id']}"
            if route["path"]:
                lines.append(f"  acl path.{route['id']} path -m str {route['path']}")
                lines.append(f"  acl path.{route['id']} path -m beg {route['path']}/")
                condition += f" path.{route['id']}"
            lines.append(f"  use_backend {route['id']}" + (f" if{condition}" if condition else ""))
        lines.append("  default_backend no_route")
    for routes in model.get("ports", {}).values():
        for route in routes:
            found = f"resolvers engine resolve-prefer ipv4 resolve-opts allow-dup-ip init-addr {route['address'] or 'none'}"
            lines.append(f"backend {route['id']}")
            lines.append(f"  server {SLOTS[0]} {route['server']} {found}")
            lines.append(f"  server {SLOTS[1]} {route['server']} {found} disabled")
    return "\n".join(lines) + "\n"


def route_lines(model: dict[str, Any] | None) -> dict[str, str]:
    """Each route of a model, as a plan shows it: `:8080 app.example/api → 1a2b3c4d5e6f:80`."""
    return {
        route["id"]: f":{publish} {route['hostname'] or '*'}{route['path'] or '/'} → {route['server']}"
        for publish, routes in ((model or {}).get("ports") or {}).items()
        for route in routes
    }


def upstreams_of(model: dict[str, Any] | None) -> dict[str, Upstream]:
    """Container key → the container a model sends its requests to. The model is read back from the
    proxy, so it is data: an entry without a short id, and an IPv4 address or none, is left out."""
    found = {}
    for routes in ((model or {}).get("ports") or {}).values():
        for route in routes if isinstance(routes, list) else ():
            try:
                address = route.get("address")
                upstream = Upstream(_short_id(str(route["server"]).rpartition(":")[0]), address and checked_address(address))
                found[str(route["id"]).removeprefix("container.")] = upstream
            except (KeyError, AttributeError, ReconcileError):
                continue
    return found


def comparable(model: dict[str, Any] | None) -> Any:
    """The model as a plan compares it: without the addresses, which the proxy follows by itself."""
    if model is None:
        return None
    ports = {
        port: [{k: v for k, v in route.items() if k != "address"} for route in routes]
        for port, routes in (model.get("ports") or {}).items()
    }
    return {**model, "ports": ports}


def read_model(client: docker.APIClient, container_id: str) -> dict[str, Any] | None:
    """The routes reconcile last wrote into the proxy (None: none it can read)."""
    try:
        chunks, _ = client.get_archive(container_id, MODEL_PATH)
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


def _put(client: docker.APIClient, container_id: str, files: Iterable[tuple[str, bytes]]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in files:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    client.put_archive(container_id, "/", buffer.getvalue())


def write_model(client: docker.APIClient, container_id: str, model: dict[str, Any]) -> None:
    """The model and its haproxy.cfg as the proxy's files (read by HAProxy at start and at a reload)."""
    data = json.dumps(model, indent=1, sort_keys=True).encode()
    _put(client, container_id, [(MODEL_PATH, data), (CONFIG_PATH, config_text(model).encode())])


def _run(client: docker.APIClient, container_id: str, argv: list[str]) -> tuple[int | None, str]:
    execution = client.exec_create(container_id, argv)
    output = client.exec_start(execution["Id"]).decode(errors="replace").strip()
    return client.exec_inspect(execution["Id"]).get("ExitCode"), output


def runtime(client: docker.APIClient, container_id: str, command: str) -> str:
    """One command of HAProxy's runtime API, and its answer. The command goes to socat as a file's
    content (never as an argument or through a shell); socat sends it to the admin socket."""
    _put(client, container_id, [(COMMAND_FILE, command.encode() + b"\n")])
    socat = ["socat", "-t", "5", f"OPEN:{COMMAND_FILE},rdonly!!STDOUT", f"UNIX-CONNECT:{ADMIN_SOCKET}"]
    code, output = _run(client, container_id, socat)
    if code != 0:
        raise ReconcileError(f"the proxy's runtime API did not answer (socat exit {code}): {output[:LOG_LINE_CHARS]}")
    return output


def _worker_pid(client: docker.APIClient, container_id: str) -> str | None:
    try:
        info = runtime(client, container_id, "show info")
    except ReconcileError:
        return None
    return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Pid:")), None)


def wait_ready(client: docker.APIClient, container_id: str) -> None:
    """Wait until a proxy just started answers on its runtime API (its worker runs)."""
    deadline = time.monotonic() + RELOAD_SECONDS
    while _worker_pid(client, container_id) is None:
        if time.monotonic() > deadline:
            raise ReconcileError(f"the proxy's worker did not start within {RELOAD_SECONDS:g} s")
        time.sleep(0.1)


def reload(client: docker.APIClient, container_id: str, model: dict[str, Any]) -> None:
    """Write the model and have the running HAProxy take it gracefully: the config is checked
    first (a refused one changes nothing), then its master starts a new worker on it; the old
    worker finishes its requests (and answers its kept connections' next one, then closes them)."""
    candidate = f"{CONFIG_PATH}.new"
    _put(client, container_id, [(candidate, config_text(model).encode())])
    code, output = _run(client, container_id, ["haproxy", "-c", "-q", "-f", candidate])
    if code != 0:
        last = output.splitlines()[-1] if output else "(no output)"
        raise ReconcileError(f"the proxy refused its new routes (haproxy -c exit {code}): {last[:LOG_LINE_CHARS]}")
    before = _worker_pid(client, container_id)
    write_model(client, container_id, model)
    client.kill(container_id, "SIGUSR2")
    deadline = time.monotonic() + RELOAD_SECONDS
    while time.monotonic() < deadline:
        now = _worker_pid(client, container_id)
        if now is not None and now != before:
            return
        time.sleep(0.1)
    raise ReconcileError(f"the proxy did not start a worker on its new routes within {RELOAD_SECONDS:g} s")


@dataclass(frozen=True)
class Slot:
    name: str
    address: str
    port: int
    serving: bool  # neither in maintenance nor draining


def slots(client: docker.APIClient, container_id: str, container: str) -> dict[str, Slot]:
    """The route's server slots as the running worker has them (empty: it has no such backend)."""
    answer = runtime(client, container_id, f"show servers state {backend(container)}")
    lines = answer.splitlines()
    header = next((line.lstrip("# ").split() for line in lines if line.startswith("# be_id")), None)
    if header is None:
        return {}
    found = {}
    for line in lines:
        fields = dict(zip(header, line.split(), strict=False))
        if line.startswith("#") or fields.get("be_name") != backend(container) or "srv_name" not in fields:
            continue
        admin = int(fields.get("srv_admin_state", "1"))
        serving = not admin & (_MAINTENANCE | _DRAINING) and fields.get("srv_op_state") == str(_RUNNING)
        found[fields["srv_name"]] = Slot(fields["srv_name"], fields["srv_addr"], int(fields.get("srv_port", 0)), serving)
    return found


def _expect(answer: str, *fine: str) -> None:
    if answer and not any(word in answer for word in fine):
        raise ReconcileError(f"the proxy's runtime API refused the switch: {answer[:LOG_LINE_CHARS]}")


def switch_server(client: docker.APIClient, container_id: str, container: str, upstream: Upstream, port: int) -> str | None:
    """Send the route's new requests to ``upstream`` without a reload: the spare slot takes its
    address and name, and serves, the serving one drains (its requests in flight finish; kept
    client connections stay open and their next request goes to the new one). The slot that
    drains (None: the running worker has no two slots for the route: reload instead)."""
    found = slots(client, container_id, container)
    if set(found) != set(SLOTS):
        return None
    serving = [slot.name for slot in found.values() if slot.serving]
    old = serving[0] if serving else SLOTS[1]
    spare = next(name for name in SLOTS if name != old)
    server = f"{backend(container)}/{spare}"
    moved = runtime(client, container_id, f"set server {server} addr {checked_address(upstream.address)} port {port}")
    _expect(moved, "changed", "no need")
    _expect(runtime(client, container_id, f"set server {server} fqdn {_short_id(upstream.name)}"), "changed", "no need")
    _expect(runtime(client, container_id, f"set server {server} state ready"))
    try:
        _wait_serving(client, container_id, container, spare)
        _expect(runtime(client, container_id, f"set server {backend(container)}/{old} state drain"))
    except ReconcileError:
        runtime(client, container_id, f"set server {server} state maint")  # the new one is removed: back to the old
        raise
    return old


def _wait_serving(client: docker.APIClient, container_id: str, container: str, slot: str) -> None:
    """The old slot drains only once the new one serves (a name the DNS had lost keeps it out until resolved)."""
    deadline = time.monotonic() + RELOAD_SECONDS
    while not ((found := slots(client, container_id, container).get(slot)) and found.serving):
        if time.monotonic() > deadline:
            raise ReconcileError(f"the proxy's slot {backend(container)}/{slot} did not serve within {RELOAD_SECONDS:g} s")
        time.sleep(0.1)


def _short_id(name: str) -> str:
    if not (len(name) == 12 and all(c in "0123456789abcdef" for c in name)):
        raise ReconcileError(f"the engine gave {name[:60]!r} as the container's id")
    return name


def retire(client: docker.APIClient, container_id: str, container: str, slot: str, address: str | None) -> None:
    """After the drain: the slot that drained goes to maintenance, unless a reload meanwhile gave it
    ``address`` (the new container's) to serve."""
    found = slots(client, container_id, container)
    if slot in found and found[slot].address != address:
        _expect(runtime(client, container_id, f"set server {backend(container)}/{slot} state maint"))
