"""Requests during a replace: through the proxy reconcile manages, and (for comparison) a container
that publishes its host port itself, which a replace stops first (issue 28's goal: 0 failed
requests through the proxy, and the old container never stopped before the new one served).

    .venv/bin/python bench/proxy_replace.py [--rate 200] [--seconds 20] [--rounds 1] [--engine bench]

On an engine of its own in a network namespace of its own (RECONCILER_ENGINE_NAME=ENGINE-netns,
RECONCILER_ENGINE_NETNS=1: never the tests' engine, never the machine's network), with the proxy
image of scripts/proxy-image. Two services, each reconciler-test/busybox:1's httpd answering its
own container id, with a healthcheck on a 10-minute interval (reconcile runs the check itself while
it waits): web through proxy.edge (publish 8080, drain 1s), api publishing 8081 itself. Each round
runs the load generator (tests/support/http_load.py: open loop, a connection per request, or with
--keep-alive one kept per thread; 5 s timeout) in the engine's namespace against one port for
SECONDS, and 3 s in, `reconcile apply` replaces that service (its environment changed). Prints
requests, failures (anything but a 200), p99 latency, and whether the old container was stopped only after the new one answered.
A measurement, not a test: exits 0 whatever the figures, 1 when it cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import docker  # noqa: E402

from tests.support.cli import run_reconcile  # noqa: E402
from tests.support.compose_oracle import netns_engine, netns_engine_name  # noqa: E402
from tests.support.docker_engine import TEST_IMAGE  # noqa: E402
from tests.support.http_load import in_namespace, results_of, summary  # noqa: E402

SERVE = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"


def state(versions: dict[str, int]) -> str:
    def service(name: str, extra: str) -> str:
        version = versions.get(name, 0)
        return (
            f"  {name}:\n    image: {TEST_IMAGE}\n    command: [sh, -c, '{SERVE}']\n    init: true\n"
            f"    stop_grace_period: 1s\n    environment: {{VERSION: '{version}'}}\n"
            "    healthcheck: {test: [CMD-SHELL, 'wget -q -O /dev/null http://127.0.0.1/'],"
            " interval: 10m, timeout: 2s, retries: 2}\n"
            f"    {extra}\n"
        )

    return (
        "settings: {name: bench}\nproxies:\n  edge: {image: reconciler-proxy/haproxy:2}\ncontainers:\n"
        + service("web", "proxy: {publish: 8080, port: 80, drain: 1s}")
        + service("api", "ports: ['8081:80']")
    )


def stopped_at(client: docker.DockerClient, container_id: str, since: float) -> float | None:
    events = client.api.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True, filters={"container": container_id})
    moments = [e["timeNano"] / 1e9 for e in events if e.get("status") in ("kill", "die", "stop")]
    return min(moments) if moments else None


def round_of(
    work: Path,
    client: docker.DockerClient,
    name: str,
    port: int,
    versions: dict[str, int],
    rate: float,
    seconds: float,
    keep_alive: bool = False,
) -> str:
    pid = int(Path(f"/run/reconciler-{netns_engine_name()}-docker.pid").read_text().strip())
    old = client.containers.get(name).id
    load = in_namespace(pid, port, rate, seconds, keep_alive)
    time.sleep(3)
    versions[name] = versions.get(name, 0) + 1
    (work / "desired_state" / "bench.yaml").write_text(state(versions))
    applied = run_reconcile("apply", "desired_state", "--auto-approve", cwd=work, env={"DOCKER_HOST": netns_engine()})
    begin, results = results_of(load, timeout=seconds + 60)
    if applied.returncode != 0:
        raise SystemExit(f"proxy_replace: apply failed: {applied.stdout[-1500:]}{applied.stderr[-1500:]}")
    new = client.containers.get(name).id
    seen = summary(results)
    stopped = stopped_at(client, old, begin)
    served = seen.first_answer.get(new[:12])
    order = "yes" if stopped is not None and served is not None and stopped > begin + served else "NO"
    how = "through proxy.edge" if name == "web" else "published itself (stop-first)"
    return f"{name:4} {how:30} {seen.requests:9} {seen.failures:9} {seen.p99_ms:8.1f} {order:>26}" + (
        f"\n     first failures: {'; '.join(seen.errors[:3])}" if seen.errors else ""
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--engine", default="bench")
    parser.add_argument("--keep-alive", action="store_true", help="the load keeps a connection per thread (as ab -k)")
    args = parser.parse_args()
    os.environ["RECONCILER_ENGINE_NAME"] = args.engine
    host = netns_engine()
    built = subprocess.run([str(REPO / "scripts" / "proxy-image")], env={**os.environ, "DOCKER_HOST": host}, check=False)
    if built.returncode != 0:
        return 1
    client = docker.DockerClient(base_url=host, timeout=60)
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "desired_state").mkdir()
        (work / "desired_state" / "bench.yaml").write_text(state({}))
        first = run_reconcile("apply", "desired_state", "--auto-approve", cwd=work, env={"DOCKER_HOST": host})
        if first.returncode != 0:
            print(first.stdout, first.stderr, file=sys.stderr)
            return 1
        connections = "a kept connection per thread" if args.keep_alive else "a connection per request"
        print(f"{args.rate:g} requests/s for {args.seconds:g} s, {connections}, a replace 3 s in (git {git_head()})")
        print(f"{'':4} {'':30} {'requests':>9} {'failures':>9} {'p99 ms':>8} {'old stopped after new served':>26}")
        versions: dict[str, int] = {}
        try:
            for _ in range(args.rounds):
                for name, port in (("web", 8080), ("api", 8081)):
                    print(round_of(work, client, name, port, versions, args.rate, args.seconds, args.keep_alive), flush=True)
        finally:
            for container in client.containers.list(all=True, filters={"label": "reconciler.state=bench"}):
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)
            for network in client.networks.list(filters={"label": "reconciler.state=bench"}):
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()
    return 0


def git_head() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
