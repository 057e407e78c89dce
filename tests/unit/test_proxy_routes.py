"""The proxy's HAProxy config from the declared routes (pure), the located errors of a route, and what
a replace's plan line says of its traffic."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ReconcileError
from reconciler.kinds.proxy.haproxy import NO_ROUTE_STATUS, Route, Upstream, checked_address, config_text, render, upstreams_of
from reconciler.kinds.proxy.routes import replace_reason
from reconciler.model.proxy import ProxyRoute
from reconciler.model.spec import State
from tests.support.cli import run_reconcile


def route(**fields: object) -> ProxyRoute:
    return ProxyRoute.model_validate({"publish": 8080, "port": 80, **fields})


def test_the_most_specific_route_comes_first_and_nothing_else_matches() -> None:
    model = render(
        [
            Route("site", route(), Upstream("aaaaaaaaaaaa", "172.18.0.2")),
            Route("api", route(path="/api/"), Upstream("bbbbbbbbbbbb", "172.18.0.3")),
            Route("app", route(hostname="app.example", port=3000), Upstream("cccccccccccc", "172.18.0.4")),
            Route("admin", route(publish=9090, drain="7s"), Upstream("dddddddddddd", None)),  # stopped
            Route("new", route(path="/new"), None),  # not created yet: no route
        ]
    )
    assert sorted(model["ports"]) == ["8080", "9090"]
    assert [r["id"] for r in model["ports"]["8080"]] == ["container.app", "container.api", "container.site"]
    assert model["drain_seconds"] == 7  # the longest drain
    text = config_text(model)
    lines = text.split("frontend port8080\n")[1].splitlines()
    frontend = lines[: next(i for i, line in enumerate(lines) if not line.startswith("  "))]
    assert frontend == [
        "  bind :8080",
        "  acl host.container.app req.hdr(host),field(1,:) -i -m str app.example",
        "  use_backend container.app if host.container.app",
        "  acl path.container.api path -m str /api",
        "  acl path.container.api path -m beg /api/",
        "  use_backend container.api if path.container.api",
        "  use_backend container.site",
        "  default_backend no_route",
    ]
    assert f'http-request return status {NO_ROUTE_STATUS} content-type text/plain string "no route"' in text
    found = "resolvers engine resolve-prefer ipv4 resolve-opts allow-dup-ip init-addr"
    assert f"backend container.app\n  server a cccccccccccc:3000 {found} 172.18.0.4\n" in text  # the engine's DNS follows it
    assert f"  server b cccccccccccc:3000 {found} 172.18.0.4 disabled\n" in text  # a spare slot for the next replace
    assert f"backend container.admin\n  server a dddddddddddd:80 {found} none\n" in text  # found once it runs
    assert "hard-stop-after 67s" in text  # a reload's old worker gets the longest drain, and more
    assert upstreams_of(model)["app"] == Upstream("cccccccccccc", "172.18.0.4")
    assert upstreams_of(model)["admin"] == Upstream("dddddddddddd", None)


@pytest.mark.parametrize("answer", ["172.18.0.5\nstats socket /tmp/x level admin", "web", "::1", "", "172.18.0.5 port 1"])
def test_only_an_ipv4_address_from_the_engine_reaches_the_proxy(answer: str) -> None:
    with pytest.raises(ReconcileError, match="not an IPv4 address"):
        checked_address(answer)
    assert checked_address("172.18.0.5") == "172.18.0.5"


def state(web: dict[str, object]) -> State:
    text = {"proxies": {"edge": {"image": "reconciler-proxy/haproxy:2"}}, "containers": {"web": {"image": "shop/web:2", **web}}}
    return State.model_validate(text)


@pytest.mark.parametrize(
    ("web", "clash", "said"),
    [
        ({"proxy": {"publish": 8080, "port": 80, "drain": "3s"}}, False, "through proxy edge (port 8080): the new"),
        ({"ports": ["8081:80"]}, True, "stop-first: it publishes host port 8081 itself, so the old container stops"),
        ({"network_mode": "host"}, True, "stop-first: host networking"),
        ({}, False, None),
    ],
)
def test_a_replace_says_whether_it_goes_through_the_proxy_or_stops_first(
    web: dict[str, object], clash: bool, said: str | None
) -> None:
    desired = state(web)
    reason = replace_reason(desired.containers["web"], clash, desired)
    assert (reason is None) if said is None else (reason is not None and said in reason)


def test_a_route_s_mistakes_are_located(tmp_path: Path) -> None:
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "web.yaml").write_text(
        "proxies:\n  a: {image: p:1}\n  b: {image: p:1}\n"
        "containers:\n"
        "  web:\n    image: w:1\n    proxy: {publish: 8080, port: 80}\n"
        "  api:\n    image: w:1\n    ports: ['8080:80']\n    proxy: {publish: 8080, port: 80, via: c}\n"
    )
    done = run_reconcile("validate", "desired_state", cwd=tmp_path)
    assert done.returncode == 1
    said = done.stderr
    assert "web.yaml:7:12: containers.web.proxy: the proxies on the container's host are 2 (a, b): name one with via:" in said
    assert "web.yaml:10:13: containers.api.ports[0]: host port 8080 is published by the proxy" in said
    assert "web.yaml:11:43: containers.api.proxy.via: no proxy 'c' under proxies: (a, b)" in said


def test_a_hostname_or_path_the_proxy_config_would_read_as_syntax_is_located(tmp_path: Path) -> None:
    (tmp_path / "desired_state").mkdir()
    (tmp_path / "desired_state" / "web.yaml").write_text(
        "proxies:\n  edge: {image: p:1}\n"
        "containers:\n"
        "  web:\n    image: w:1\n    proxy: {publish: 8080, port: 80, hostname: 'a.example use_backend x'}\n"
        "  api:\n    image: w:1\n    proxy: {publish: 8080, port: 80, path: '/api\"#'}\n"
    )
    done = run_reconcile("validate", "desired_state", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    said = done.stderr
    assert "web.yaml:6:48: containers.web.proxy.hostname: a hostname is letters, digits, '.' and '-'" in said, said
    assert "web.yaml:9:44: containers.api.proxy.path: a path is letters, digits and" in said, said


def test_routes_read_back_from_the_proxy_are_data() -> None:
    """What the proxy's file says of its upstreams goes nowhere unless it is a short id and an address."""
    model = {
        "ports": {
            "8080": [
                {"id": "container.web", "server": "aaaaaaaaaaaa:80", "address": "172.18.0.2"},
                {"id": "container.api", "server": "x\n  stats socket /tmp/s level admin\n:80", "address": None},
                {"id": "container.db", "server": "bbbbbbbbbbbb:80", "address": "172.18.0.3 port 1"},
                {"server": "cccccccccccc:80"},
            ]
        }
    }
    assert upstreams_of(model) == {"web": Upstream("aaaaaaaaaaaa", "172.18.0.2")}
