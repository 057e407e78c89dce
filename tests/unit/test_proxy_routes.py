"""The proxy's Caddy config from the declared routes (pure), the located errors of a route, and what
a replace's plan line says of its traffic."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.kinds.proxy.caddy import NO_ROUTE_STATUS, Route, render, upstreams_of
from reconciler.kinds.proxy.routes import replace_reason
from reconciler.model.proxy import ProxyRoute
from reconciler.model.spec import State
from tests.support.cli import run_reconcile


def route(**fields: object) -> ProxyRoute:
    return ProxyRoute.model_validate({"publish": 8080, "port": 80, **fields})


def test_the_most_specific_route_comes_first_and_nothing_else_matches() -> None:
    config = render(
        [
            Route("site", route(), "aaaaaaaaaaaa"),
            Route("api", route(path="/api/"), "bbbbbbbbbbbb"),
            Route("app", route(hostname="app.example", port=3000), "cccccccccccc"),
            Route("admin", route(publish=9090, drain="7s"), "dddddddddddd"),
            Route("new", route(path="/new"), None),  # not created yet: no route
        ]
    )
    servers = config["apps"]["http"]["servers"]
    assert sorted(servers) == ["port8080", "port9090"]
    routes = servers["port8080"]["routes"]
    assert [r.get("@id") for r in routes] == ["container.app", "container.api", "container.site", None]
    assert routes[0]["match"] == [{"host": ["app.example"]}]
    assert routes[1]["match"] == [{"path": ["/api", "/api/*"]}]
    assert "match" not in routes[2]
    assert routes[-1]["handle"][0]["status_code"] == NO_ROUTE_STATUS
    assert servers["port8080"]["automatic_https"] == {"disable": True}  # a hostname never turns a port into TLS
    assert config["apps"]["http"]["grace_period"] == 7 * 10**9  # the longest drain
    assert config["admin"]["listen"] == "localhost:2019"
    assert upstreams_of(config) == {"app": "cccccccccccc", "api": "bbbbbbbbbbbb", "site": "aaaaaaaaaaaa", "admin": "dddddddddddd"}


def state(web: dict[str, object]) -> State:
    text = {"proxies": {"edge": {"image": "reconciler-proxy/caddy:2"}}, "containers": {"web": {"image": "shop/web:2", **web}}}
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
