"""Zero-downtime replace through the proxy reconcile manages (issue 28, item 2): under a bounded load
(open loop, a connection per request, or one kept per client thread that never retries) through
the proxy while `reconcile apply` replaces the
container behind it, every request is answered 200, and the old container is stopped only after
the new one has answered. Each test container answers with its own id (its hostname), so the load
says who served what and when; the engine's event stream says when the old one was stopped.

The engine runs in a network namespace of its own (scripts/docker-engine RECONCILER_ENGINE_NETNS=1):
the proxy's published port exists only there, and the load generator runs there (nsenter), against
its loopback. The proxy image is Debian's HAProxy (scripts/proxy-image); without a Debian mirror to
download it from, these tests skip, saying so."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support.cli import run_reconcile
from tests.support.compose_oracle import netns_engine, netns_engine_name
from tests.support.docker_engine import TEST_IMAGE
from tests.support.http_load import get_in_namespace, in_namespace, results_of, summary
from tests.support.proxy_image import proxy_image

pytestmark = [pytest.mark.docker]

PORT = 8080
DIRECT_PORT = 8081
RATE = 200


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    host = netns_engine()
    unavailable = proxy_image(host)
    if unavailable is not None:
        pytest.skip(f"no proxy image: {unavailable}")
    client = docker.DockerClient(base_url=host, timeout=60)
    yield client
    client.close()


@pytest.fixture
def clean(engine: docker.DockerClient) -> Iterator[docker.DockerClient]:
    def clear() -> None:
        for container in engine.containers.list(all=True, filters={"label": "reconciler.managed=true"}):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for network in engine.networks.list(filters={"label": "reconciler.managed=true"}):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                network.remove()

    clear()
    yield engine
    clear()


def engine_pid() -> int:
    return int(Path(f"/run/reconciler-{netns_engine_name()}-docker.pid").read_text().strip())


def declaration(
    version: int, check: str = "wget -q -O /dev/null http://127.0.0.1/", direct: bool = False, interval: str = "10m"
) -> str:
    """web (through the proxy) and, with ``direct``, api publishing its own host port; both answer with their id."""
    serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"
    container = f"""
    image: {TEST_IMAGE}
    command: ["sh", "-c", "{serve}"]
    init: true
    stop_grace_period: 1s
    environment: {{VERSION: "{version}"}}
    healthcheck: {{test: ["CMD-SHELL", "{check}"], interval: {interval}, timeout: 2s, retries: 2}}"""
    text = f"""settings: {{name: shop}}
proxies:
  edge: {{image: reconciler-proxy/haproxy:2}}
containers:
  web:{container}
    proxy: {{publish: {PORT}, port: 80, drain: 1s}}
"""
    if direct:
        text += f"  api:{container}\n    ports: ['{DIRECT_PORT}:80']\n"
    return text


def apply(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    state = tmp_path / "desired_state"
    state.mkdir(exist_ok=True)
    (state / "shop.yaml").write_text(text)
    environment = {"DOCKER_HOST": netns_engine(), **(env or {})}
    return run_reconcile("apply", "desired_state", "--auto-approve", cwd=tmp_path, env=environment)


def plan(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "desired_state" / "shop.yaml").write_text(text)
    return run_reconcile("plan", "desired_state", cwd=tmp_path, env={"DOCKER_HOST": netns_engine()})


def stopped_at(client: docker.DockerClient, container_id: str, since: float) -> float:
    """When the engine first began to stop the container (its kill or die event), wall clock."""
    events = client.api.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True, filters={"container": container_id})
    moments = [e["timeNano"] / 1e9 for e in events if e.get("status") in ("kill", "die", "stop")]
    assert moments, f"the engine never stopped {container_id[:12]}"
    return min(moments)


@pytest.mark.slow
def test_a_replace_through_the_proxy_drops_no_request(tmp_path: Path, clean: docker.DockerClient) -> None:
    """200 requests/s for 12 s through the proxy; 2 s in, apply replaces web (its environment changed)."""
    first = apply(tmp_path, declaration(1))
    assert first.returncode == 0, first.stdout + first.stderr
    old = clean.containers.get("web").id
    load = in_namespace(engine_pid(), PORT, RATE, 12)
    time.sleep(2)
    replaced = apply(tmp_path, declaration(2))
    begin, results = results_of(load, timeout=60)
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert "proxy edge switched to it once healthy, the old one drained 1s" in replaced.stdout
    new = clean.containers.get("web").id
    assert new != old
    seen = summary(results)
    assert seen.requests == RATE * 12
    assert seen.failures == 0, seen.errors
    assert set(seen.first_answer) == {old[:12], new[:12]}  # both served: the old before, the new after the switch
    new_answered = begin + seen.first_answer[new[:12]]
    assert stopped_at(clean, old, begin) > new_answered, "the old container was stopped before the new one served"
    assert seen.last_answer[old[:12]] < seen.first_answer[new[:12]] + 1.5  # after the switch, only drained requests


@pytest.mark.slow
def test_a_replace_drops_no_request_of_clients_that_keep_their_connection(tmp_path: Path, clean: docker.DockerClient) -> None:
    """The same replace (200 requests/s for 12 s, 2 s in) under load from clients that each keep one connection open (HTTP/1.1
    keep-alive, as `ab -k` or a service's connection pool) and never retry a failed request: the
    switch must not close the connections the proxy holds with its clients."""
    first = apply(tmp_path, declaration(1))
    assert first.returncode == 0, first.stdout + first.stderr
    old = clean.containers.get("web").id
    load = in_namespace(engine_pid(), PORT, RATE, 12, keep_alive=True)
    time.sleep(2)
    replaced = apply(tmp_path, declaration(2))
    begin, results = results_of(load, timeout=60)
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    new = clean.containers.get("web").id
    seen = summary(results)
    assert seen.requests == RATE * 12
    assert seen.failures == 0, seen.errors
    assert set(seen.first_answer) == {old[:12], new[:12]}
    assert stopped_at(clean, old, begin) > begin + seen.first_answer[new[:12]]


@pytest.mark.slow
def test_a_route_added_reloads_the_proxy_without_failing_kept_connections(tmp_path: Path, clean: docker.DockerClient) -> None:
    """Another service's route is added while clients keep their connections to web: the proxy
    reloads (gracefully: the old worker answers each kept connection once more, then closes it), and
    no request fails."""
    assert apply(tmp_path, declaration(1)).returncode == 0
    web = clean.containers.get("web").id
    load = in_namespace(engine_pid(), PORT, RATE, 8, keep_alive=True)
    time.sleep(2)
    api = (
        f"  api:\n    image: {TEST_IMAGE}\n    init: true\n"
        '    command: ["sh", "-c", "mkdir -p /www/api && hostname > /www/api/index.html && exec httpd -f -p 80 -h /www"]\n'
        f"    proxy: {{publish: {PORT}, port: 80, path: /api}}\n"
    )
    applied = apply(tmp_path, declaration(1) + api)
    _, results = results_of(load, timeout=60)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "routed through proxy edge" in applied.stdout, applied.stdout
    seen = summary(results)
    assert seen.failures == 0, seen.errors
    assert set(seen.first_answer) == {web[:12]}


@pytest.mark.slow
def test_a_failed_health_wait_leaves_the_old_one_serving(tmp_path: Path, clean: docker.DockerClient) -> None:
    """The new container's check fails: apply fails with its output, the proxy never left the old one."""
    first = apply(tmp_path, declaration(1))
    assert first.returncode == 0, first.stdout + first.stderr
    old = clean.containers.get("web").id
    load = in_namespace(engine_pid(), PORT, RATE, 8)
    time.sleep(1)
    failed = apply(tmp_path, declaration(2, check="echo no-such-page; exit 1", interval="3s"))  # the verdict after 2 × 3 s
    _, results = results_of(load, timeout=60)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "never became healthy" in failed.stdout and "no-such-page" in failed.stdout, failed.stdout
    seen = summary(results)
    assert seen.failures == 0, seen.errors
    assert set(seen.first_answer) == {old[:12]}
    assert [c.id for c in clean.containers.list(filters={"name": "web"})] == [old]
    again = plan(tmp_path, declaration(2, check="echo no-such-page; exit 1", interval="3s"))
    assert "container.web must be replaced" in again.stdout, again.stdout


def test_the_plan_says_which_replaces_go_through_the_proxy_and_which_stop_first(
    tmp_path: Path, clean: docker.DockerClient
) -> None:
    first = apply(tmp_path, declaration(1, direct=True))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "proxy.edge" in first.stdout and "routed through proxy edge" in first.stdout
    planned = plan(tmp_path, declaration(2, direct=True))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    lines = {line.split()[1]: line for line in planned.stdout.splitlines() if line.strip().startswith("# container.")}
    assert "through proxy edge (port 8080): the new container starts beside the old one" in lines["container.web"]
    assert "the old one drains 1s, then stops" in lines["container.web"]
    assert f"stop-first: it publishes host port {DIRECT_PORT} itself" in lines["container.api"]
    assert "declare proxy: to replace it without downtime" in lines["container.api"]
    clean_plan = plan(tmp_path, declaration(1, direct=True))
    assert "No changes." in clean_plan.stdout, clean_plan.stdout  # the proxy's routes are no drift


ROUTED = f"""settings: {{name: shop}}
proxies:
  edge: {{image: reconciler-proxy/haproxy:2}}
containers:
  web:
    image: {TEST_IMAGE}
    command: ["sh", "-c", "mkdir -p /www/api /www/v2 && hostname | tee /www/index.html /www/api/index.html /www/v2/index.html && exec httpd -f -p 80 -h /www"]
    init: true
    proxy: {{publish: {PORT}, port: 80, hostname: app.example}}
  api:
    image: {TEST_IMAGE}
    command: ["sh", "-c", "mkdir -p /www/api /www/v2 && hostname | tee /www/index.html /www/api/index.html /www/v2/index.html && exec httpd -f -p 80 -h /www"]
    init: true
    proxy: {{publish: {PORT}, port: 80, path: /api}}
"""


def test_a_routed_container_the_engine_restarts_on_another_address_stays_reachable(
    tmp_path: Path, clean: docker.DockerClient
) -> None:
    """The engine restarts a routed container (a crash under `restart:`, a host reboot) and gives it
    another address on its network: with no apply, the proxy finds it there within seconds."""
    assert apply(tmp_path, declaration(1)).returncode == 0
    web = clean.containers.get("web")
    network = next(iter(web.attrs["NetworkSettings"]["Networks"]))
    before = web.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    pid = engine_pid()
    assert get_in_namespace(pid, PORT, "/", "app.example") == (200, web.id[:12])
    web.stop(timeout=1)
    squatter = clean.containers.run(  # takes the freed address, if the engine would give it back
        TEST_IMAGE, ["sleep", "300"], detach=True, network=network, labels={"reconciler.managed": "true"}
    )
    web.start()
    web.reload()
    assert web.attrs["NetworkSettings"]["Networks"][network]["IPAddress"] != before
    deadline = time.monotonic() + 10
    while get_in_namespace(pid, PORT, "/", "app.example") != (200, web.id[:12]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert get_in_namespace(pid, PORT, "/", "app.example") == (200, web.id[:12])
    squatter.remove(force=True)


@pytest.mark.slow
def test_requests_go_by_hostname_and_path_and_a_route_changes_in_place(tmp_path: Path, clean: docker.DockerClient) -> None:
    """Two services behind one port: a hostname, a path; nothing else matches (502). A changed path
    is an update of the proxy's routes, loaded through its admin API: nothing is recreated."""
    applied = apply(tmp_path, ROUTED)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    web, api, proxy = (clean.containers.get(name).id for name in ("web", "api", "edge"))
    pid = engine_pid()
    assert get_in_namespace(pid, PORT, "/", "app.example") == (200, web[:12])
    assert get_in_namespace(pid, PORT, "/api/", "app.example") == (200, web[:12])  # a hostname first
    assert get_in_namespace(pid, PORT, "/api/", "other.example") == (200, api[:12])
    assert get_in_namespace(pid, PORT, "/", "other.example") == (502, "no route")
    moved = ROUTED.replace("path: /api", "path: /v2")
    planned = plan(tmp_path, moved)
    assert "~ proxy.edge" in planned.stdout and "routes.container.api" in planned.stdout, planned.stdout
    assert "container.api" not in planned.stdout.replace("routes.container.api", ""), planned.stdout
    again = apply(tmp_path, moved)
    assert again.returncode == 0, again.stdout + again.stderr
    assert get_in_namespace(pid, PORT, "/v2/", "other.example") == (200, api[:12])
    assert get_in_namespace(pid, PORT, "/api/", "other.example") == (502, "no route")
    assert clean.containers.get("edge").id == proxy
    assert "No changes." in plan(tmp_path, moved).stdout


def test_a_service_that_holds_its_port_moves_behind_the_proxy_in_two_applies(tmp_path: Path, clean: docker.DockerClient) -> None:
    """The proxy cannot bind a port a container still publishes: its create is blocked with the
    remedy, and the container's replace, which would need the proxy, keeps the old one (nothing left
    beside it). Following the remedy, it is behind the proxy after two applies."""
    direct = declaration(1).replace(f"    proxy: {{publish: {PORT}, port: 80, drain: 1s}}", f"    ports: ['{PORT}:80']")
    assert apply(tmp_path, direct).returncode == 0
    old = clean.containers.get("web").id
    moved = apply(tmp_path, declaration(1))
    assert moved.returncode == 1
    assert f"host port {PORT} (container web) is published by the container itself" in moved.stdout, moved.stdout
    assert "move the service behind the proxy in two applies" in moved.stdout
    assert "the new container was removed and the old one keeps serving" in moved.stdout, moved.stdout
    assert [c.id for c in clean.containers.list(all=True, filters={"label": "reconciler.address=container.web"})] == [old]
    first = apply(tmp_path, declaration(1).replace(f"    proxy: {{publish: {PORT}, port: 80, drain: 1s}}", "    ports: []"))
    assert first.returncode == 0, first.stdout
    second = apply(tmp_path, declaration(1))
    assert second.returncode == 0, second.stdout
    assert get_in_namespace(engine_pid(), PORT, "/", "app.example") == (200, clean.containers.get("web").id[:12])


@pytest.mark.slow
def test_a_replace_killed_before_the_switch_is_finished_through_the_proxy(tmp_path: Path, clean: docker.DockerClient) -> None:
    """apply is killed (SIGKILL) once the new container is healthy, before the switch; the next
    apply finishes the replace (container_recovery: the engine calls the leftover healthy, so its
    check runs every second here) through the proxy: switch, drain, then the old one goes. Under
    load all along: nothing is dropped."""
    assert apply(tmp_path, declaration(1, interval="1s")).returncode == 0
    old = clean.containers.get("web").id
    load = in_namespace(engine_pid(), PORT, RATE, 14)
    time.sleep(1)
    killed = apply(tmp_path, declaration(2, interval="1s"), env={"RECONCILE_TEST_KILL_AT": "container.replacement-ready"})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    leftover = clean.containers.get("web-reconcile-new").id
    time.sleep(1.5)  # the engine's next check of the leftover
    finished = apply(tmp_path, declaration(2, interval="1s"))
    begin, results = results_of(load, timeout=60)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "finished the interrupted replace" in finished.stdout, finished.stdout
    assert clean.containers.get("web").id == leftover
    seen = summary(results)
    assert seen.failures == 0, seen.errors
    assert set(seen.first_answer) == {old[:12], leftover[:12]}
    assert stopped_at(clean, old, begin) > begin + seen.first_answer[leftover[:12]]
