"""Healthchecks that cannot tell the truth, found from the declared state alone (pure): a check
that cannot fail, a process grep, a probe of another service; each with its reason and a better
check. The cannot-fail analysis is held against the real shell: bash runs every generated script
with each probe succeeding or failing, and the analysis must say "cannot fail" exactly when bash
exits 0 every time (the one test here that starts processes: a local bash, nothing else)."""

from __future__ import annotations

import itertools
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.kinds.container.kind import image_declares
from reconciler.model.load import load_state
from reconciler.model.sensitive import Sensitive
from reconciler.model.spec import Container, Policies
from reconciler.policies.containers import lie_findings
from reconciler.policies.healthcheck_lies import (
    CANNOT_FAIL,
    OTHER_SERVICE,
    PROCESS_GREP,
    Declared,
    ImageDeclares,
    declared_ports,
    healthcheck_lies,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "desired_state"
EXAMPLE_ENVIRON = {"REDIS_PASSWORD": "Zq0123456789abcdef"}
REDIS = {"image": "redis:7", "command": ["redis-server", "--port", "6379"], "network_mode": "host"}


def spec(**fields: Any) -> Container:
    return Container.model_validate({"image": "app:1", "host": "vps", **fields})


def lies(test: list[Any] | str, others: dict[str, dict[str, Any]] | None = None, images: Any = None, **fields: Any) -> list[Any]:
    containers = {"app": spec(healthcheck={"test": test}, **fields)}
    containers.update({name: spec(**other) for name, other in (others or {}).items()})
    return healthcheck_lies("app", Declared(containers, images))


def codes(test: list[Any] | str, **kwargs: Any) -> list[str]:
    return [lie.code for lie in lies(test, **kwargs)]


def only(test: list[Any] | str, **kwargs: Any) -> Any:
    found = lies(test, **kwargs)
    assert len(found) == 1, found
    return found[0]


# --- cannot fail ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        (["CMD", "true"], "`true` always succeeds and checks nothing"),
        (["CMD", "/bin/echo", "ok"], "`echo` always succeeds"),
        (["CMD-SHELL", "true"], "`true` always succeeds"),
        (["CMD-SHELL", ":"], "`:` always succeeds"),
        (["CMD-SHELL", "exit 0"], "`exit 0` always succeeds"),
        ("curl -f http://localhost:8080/ || exit 0", "`|| exit 0` turns every failure into success"),
        ("curl -f http://localhost:8080/ || true", "`|| true` turns every failure into success"),
        ("curl -f http://localhost:8080/ || :", "`|| :` turns every failure into success"),
        ("wget -q --spider http://localhost:8080/ || echo down", "`|| echo down` turns every failure into success"),
        ("curl -f http://localhost:8080/; exit 0", "`exit 0` runs last, whatever the probe said"),
        ("curl -f http://localhost:8080/\nexit 0", "`exit 0` runs last"),
        ("curl -f http://localhost:8080/; echo $?", "`echo $?` runs last"),
        ("curl -f http://localhost:8080/ | cat", "a pipeline's status is its last command's, and `cat` always succeeds"),
        (
            "if curl -f http://localhost:8080/; then exit 0; fi",
            "an `if` without `else` succeeds when `curl -f http://localhost:8080/` fails",
        ),
        (["CMD", "sh", "-c", "nc -z 127.0.0.1 8080 || true"], "`|| true` turns every failure into success"),
        (["CMD", "/bin/bash", "-c", "nc -z 127.0.0.1 8080 || exit 0"], "`|| exit 0`"),
        ("set -o pipefail; curl -f http://localhost:8080/ || true", "`|| true`"),
        ("(nc -z 127.0.0.1 8080; exit 0)", "`exit 0` runs last"),
        ("! false", "`! false` always succeeds"),
    ],
)
def test_a_check_that_cannot_fail_says_why(test: list[str] | str, reason: str) -> None:
    lie = only(test)
    assert lie.code == CANNOT_FAIL
    assert reason in lie.message
    assert "reports healthy whatever the service does" in lie.message


@pytest.mark.parametrize(
    "test",
    [
        "curl -f http://localhost:8080/ || exit 1",
        "curl -f http://localhost:8080/",
        "curl -f http://localhost:8080/ && exit 0",
        "if curl -f http://localhost:8080/; then exit 0; else exit 1; fi",
        "curl -f http://localhost:8080/ || exit",  # exit with the failure's status
        "curl -f http://localhost:8080/ || exit $?",
        "true > /dev/tcp/127.0.0.1/8080",  # the redirection fails when the port is closed
        ": < /dev/tcp/127.0.0.1/8080 || exit 0 && false",
        "f() { exit 1; }; f; exit 0",  # the function exits first
        "(curl -f http://localhost:8080/; exit 0) && test -f /tmp/ready",
        "while true; do exit 1; done; exit 0",  # loops are not evaluated: maybe
        "set -o pipefail; curl -f http://localhost:8080/ | cat",
        "set -e; curl -f http://localhost:8080/; exit 0",  # errexit: curl's failure ends the script
        ["CMD", "sh", "-ec", "curl -f http://localhost:8080/; exit 0"],
        "sh -e -c 'curl -f http://localhost:8080/; exit 0'",
        ["CMD", "exit", "0"],  # no shell: `exit` is no program (healthcheck-binary-missing says so)
        ["CMD", "wget", "-q", "--spider", "http://localhost:8080/"],
        "test -f /tmp/ready",
    ],
)
def test_a_check_that_can_fail_is_not_reported(test: list[str] | str) -> None:
    assert CANNOT_FAIL not in codes(test)


def test_cannot_fail_is_an_error_where_a_missing_healthcheck_is_one() -> None:
    containers = {"app": spec(healthcheck={"test": ["CMD-SHELL", "curl -f http://localhost/ || true"]})}
    declared = Declared(containers)
    strict = lie_findings("container.app", "app", declared, Policies(require_healthcheck=True))
    lenient = lie_findings("container.app", "app", declared, Policies())
    assert [(f.severity, f.code) for f in strict] == [("error", CANNOT_FAIL)]
    assert [(f.severity, f.code) for f in lenient] == [("warning", CANNOT_FAIL)]
    assert strict[0].remedy is not None and "write `|| exit 1` instead of `|| true`" in strict[0].remedy


def test_the_remedy_probes_a_port_the_container_declares() -> None:
    lie = only("curl -f http://localhost:8080/ || exit 0", ports=["127.0.0.1:8080:8080"])
    assert "nc -z 127.0.0.1 8080 || exit 1" in lie.remedy


def test_a_secret_in_the_check_is_never_quoted() -> None:
    secret = Sensitive("hunter2-token")
    found = lies(["CMD-SHELL", secret])
    assert found == []  # a Sensitive command alone: analysed, but nothing here can fail or not
    found = lies(["CMD", "sh", "-c", Sensitive("curl -H 'X-Token: hunter2' http://redis:6379/ || true")], others={"redis": REDIS})
    assert [lie.code for lie in found] == [CANNOT_FAIL]  # and no probe is taken from a secret
    assert all("hunter2" not in lie.message + lie.remedy for lie in found)
    assert "(" not in found[0].message.split("cannot fail")[1][:2]  # no reason quoted


# the property: the analysis agrees with bash on every loop-free script built from these pieces

PROBE = "probe_cmd"
LEAVES = [PROBE, PROBE, PROBE, "true", "false", ":", "exit 0", "exit 1", "exit", "echo ok >/dev/null", "exit $?"]


def scripts() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(LEAVES)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(inner, inner)
        return st.one_of(
            pair.map(lambda p: f"{p[0]} && {p[1]}"),
            pair.map(lambda p: f"{p[0]} || {p[1]}"),
            pair.map(lambda p: f"{p[0]}; {p[1]}"),
            pair.map(lambda p: f"{p[0]} & {p[1]}"),
            pair.map(lambda p: f"{{ {p[0]}; }} | {{ {p[1]}; }}"),
            inner.map(lambda a: f"! {{ {a}; }}"),
            inner.map(lambda a: f"( {a} )"),
            pair.map(lambda p: f"if {p[0]}; then {p[1]}; fi"),
            st.tuples(inner, inner, inner).map(lambda t: f"if {t[0]}; then {t[1]}; else {t[2]}; fi"),
        )

    return st.recursive(leaf, extend, max_leaves=6)


def bash_statuses(script: str) -> list[int]:
    """The exit status of ``script`` under bash for every way its probes can go."""
    count = script.count(PROBE)
    variants = []
    for outcome in itertools.product(("true", "false"), repeat=count):
        text = script
        for word in outcome:
            text = text.replace(PROBE, word, 1)
        variants.append(text)
    driver = "\n".join(f"bash -c {shlex.quote(text)} </dev/null >/dev/null 2>&1; echo $?" for text in variants)
    result = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, check=True, timeout=60)
    return [int(line) for line in result.stdout.split()]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts(), options=st.sampled_from(["", "set -o pipefail; ", "set -e; "]))
def test_cannot_fail_agrees_with_bash(script: str, options: str) -> None:
    """Exactly, without errexit; under `set -e` (not modelled) a claim must still be true."""
    assume(script.count(PROBE) <= 3)
    script = options + script
    statuses = bash_statuses(script)
    said = CANNOT_FAIL in codes(script)
    always_zero = all(status == 0 for status in statuses)
    assert said == always_zero if "set -e" not in options else (always_zero or not said), (script, statuses)


# --- process grep ---------------------------------------------------------------------------------


def test_the_reports_ps_grep_cannot_see_a_hung_nginx_and_matches_itself() -> None:
    lie = only("ps aux | grep nginx || exit 1")
    assert lie.code == PROCESS_GREP
    assert "`ps aux | grep nginx`" in lie.message
    assert "a hung nginx (deadlocked, not serving) still passes" in lie.message
    assert "grep's own command line contains `nginx`, so it can find itself" in lie.message


@pytest.mark.parametrize(
    "test",
    [
        "ps aux | grep nginx | grep -v grep || exit 1",  # the ops report's "fix"
        "ps aux | grep -v grep | grep -q nginx",
        "ps aux | grep '[n]ginx'",
        "ps -ef | grep -F '[n]ginx' | grep -v grep",
        "pgrep nginx",
        "pgrep -x nginx >/dev/null || exit 1",
        "pidof nginx",
        "ps -C nginx",
        ["CMD", "pgrep", "nginx"],
        "busybox ps | grep -v grep | grep -c nginx",
    ],
)
def test_a_process_check_that_excludes_itself_still_cannot_see_a_hang(test: list[str] | str) -> None:
    lie = only(test)
    assert lie.code == PROCESS_GREP
    assert "still passes" in lie.message
    assert "find itself" not in lie.message


@pytest.mark.parametrize("test", ["grep -q ready /tmp/status", "ps aux", "cat /proc/1/status | grep -q State", "ps | wc -l"])
def test_a_grep_or_ps_alone_is_no_process_check(test: str) -> None:
    assert PROCESS_GREP not in codes(test)


def test_the_process_remedy_probes_the_containers_own_port() -> None:
    lie = only("ps aux | grep -v grep | grep nginx", ports=["8080:80"])
    assert "nc -z 127.0.0.1 80 || exit 1" in lie.remedy


# --- probes of another service ----------------------------------------------------------------------


def test_the_publisher_of_the_report_probes_redis_not_itself() -> None:
    lie = only("nc -z 127.0.0.1 6379 || exit 1", others={"redis": REDIS}, depends_on=["redis"], network_mode="host")
    assert lie.code == OTHER_SERVICE
    assert "probes 127.0.0.1:6379, which is redis's port (command --port 6379), not app" in lie.message
    assert "heartbeat" in lie.remedy and "depends_on already waits for redis" in lie.remedy


@pytest.mark.parametrize(
    ("test", "written"),
    [
        ("nc -z redis 6379 || exit 1", "redis:6379"),
        (
            ["CMD", "python3", "-c", "import redis; r=redis.Redis(host='redis', port=6379); exit(0 if r.ping() else 1)"],
            "redis:6379",
        ),
        ("redis-cli -h redis ping", "redis:6379"),
        ("wget -q --spider http://redis:8080/health", "http://redis:8080"),
        ("curl -fsS http://user:pw@redis/ || exit 1", "http://redis"),
        ("timeout 5 cat < /dev/null > /dev/tcp/redis/6379", "redis:6379"),
        ("{ :; } > /dev/tcp/redis/6379", "redis:6379"),  # a compound command's redirection (healthcheck.py saw it)
        ("timeout -s KILL 5 nc -z redis 6379", "redis:6379"),
        ("env -u HTTP_PROXY curl -fsS http://redis:6379/", "http://redis:6379"),
    ],
)
def test_a_probe_of_another_container_by_name(test: list[str] | str, written: str) -> None:
    lie = only(test, others={"redis": REDIS}, depends_on=["redis"])
    assert lie.code == OTHER_SERVICE
    assert f"probes {written}, which is redis, another container, not app" in lie.message
    assert "pw" not in lie.message


def test_a_probe_of_another_machine() -> None:
    lie = only("curl -fsS https://api.example.com/health || exit 1")
    assert "probes https://api.example.com, which is api.example.com, another machine" in lie.message


@pytest.mark.parametrize(
    "fields",
    [
        {"network_mode": "host"},  # both on the host's network: localhost:6379 is redis
        {"depends_on": ["redis"]},
        {"network_mode": "container:redis"},
    ],
)
def test_a_local_port_another_container_owns(fields: dict[str, Any]) -> None:
    assert codes("nc -z localhost 6379", others={"redis": REDIS}, **fields) == [OTHER_SERVICE]


def test_a_local_port_of_a_container_on_another_network_is_not_judged() -> None:
    assert codes("nc -z localhost 6379", others={"redis": {**REDIS, "network_mode": "bridge"}}) == []
    assert codes("nc -z localhost 6379", others={"redis": {**REDIS, "host": "other"}}, network_mode="host") == []


def test_a_local_port_the_container_does_not_declare_when_it_declares_others() -> None:
    lie = only("wget -q --spider http://localhost:9090/ || exit 1", ports=["8080:80"])
    assert "probes http://localhost:9090, a port app does not publish, expose or listen on (it declares 80 (ports: 8080:80))" in (
        lie.message
    )
    assert "nc -z 127.0.0.1 80" in lie.remedy


@pytest.mark.parametrize(
    ("test", "fields"),
    [
        ("nc -z 127.0.0.1 6379 || exit 1", {"command": ["redis-server", "--port", "6379"]}),
        ("timeout 5 cat < /dev/null > /dev/tcp/localhost/9121 || exit 1", {"command": ["--web.listen-address=127.0.0.1:9121"]}),
        ("wget -q --spider http://localhost/", {"ports": ["8080:80"]}),
        ("wget -q --spider http://127.0.0.1:3000/", {"environment": {"PORT": "3000"}}),
        ("curl -f localhost:8080/health", {"command": ["httpd", "-f", "-p", "127.0.0.1:8080"]}),
        ("nc -z 127.0.0.1 9999", {}),  # declares nothing: cannot be told
        ("nc -z $HOST 6379", {"depends_on": ["redis"]}),  # known only at run time
        ("nc -l -p 6379", {"depends_on": ["redis"]}),  # a listener, not a probe
        ("nc -z app 8080", {"ports": ["8080:8080"]}),  # its own name
    ],
)
def test_a_probe_of_the_container_itself_is_fine(test: str, fields: dict[str, Any]) -> None:
    assert codes(test, others={"redis": REDIS}, **fields) == []


def test_what_the_image_declares_counts_unless_the_spec_overrides_it() -> None:
    image = ImageDeclares(exposed=frozenset({8080}), command=("httpd", "-p", "9000"))
    assert codes("nc -z 127.0.0.1 9000", images={"app": image}) == []
    assert codes("nc -z 127.0.0.1 9001", images={"app": image}) == [OTHER_SERVICE]
    assert codes("nc -z 127.0.0.1 9000", images={"app": image}, command=["httpd", "-p", "7000"]) == [OTHER_SERVICE]


def test_an_images_inspect_record_gives_its_exposed_ports_and_commands() -> None:
    record = {"Config": {"ExposedPorts": {"6379/tcp": {}, "53/udp": {}}, "Cmd": ["redis-server"], "Entrypoint": None}}
    assert image_declares(record) == ImageDeclares(frozenset({6379, 53}), ("redis-server",), ())
    assert image_declares({}) == ImageDeclares()


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--port", "6379"], {6379}),
        (["--port=6379"], {6379}),
        (["--web.listen-address=:9121"], {9121}),
        (["--bind", "0.0.0.0:80"], {80}),
        (["--listen", "[::]:8443"], {8443}),
        (["--http-port", "8000"], {8000}),
        (["--redis.addr=redis://127.0.0.1:6379"], set()),  # a client address, not a listener
        (["--redis-port", "6379"], set()),
        (["--port", "http"], set()),
    ],
)
def test_listen_options_in_the_command(option: list[str], expected: set[int]) -> None:
    assert set(declared_ports(spec(command=["server", *option]))) == expected


@settings(max_examples=60, deadline=None)
@given(
    tool=st.sampled_from(["nc -z {h} {p}", "nc -w 2 {h} {p}", "wget -q --spider http://{h}:{p}/x", "curl -fsS http://{h}:{p}",
                          "cat </dev/null >/dev/tcp/{h}/{p}", "socat - TCP:{h}:{p}", "telnet {h} {p}"]),
    host=st.from_regex(r"[a-z][a-z0-9\-]{0,20}", fullmatch=True).filter(lambda h: h not in ("app", "localhost")),
    port=st.integers(1, 65535),
)  # fmt: skip
def test_any_probe_of_another_containers_name_is_found(tool: str, host: str, port: int) -> None:
    others = {host: {"image": "svc:1"}}
    lie = only(tool.format(h=host, p=port), others=others)
    assert lie.code == OTHER_SERVICE
    assert f"which is {host}, another container, not app" in lie.message
    assert str(port) in lie.message


# --- the example ----------------------------------------------------------------------------------


def test_every_healthcheck_in_the_example_is_honest() -> None:
    """The demo shows the field reports' other mistakes on purpose; none of its checks lies."""
    state = load_state(EXAMPLE, environ=EXAMPLE_ENVIRON).state
    declared = Declared(state.containers)
    assert {name: healthcheck_lies(name, declared) for name in state.containers} == {name: [] for name in state.containers}
    publisher = state.containers["quantum_market_publisher"]
    assert publisher.healthcheck is not None and publisher.healthcheck.test is not None
    assert "6379" not in " ".join(str(item) for item in publisher.healthcheck.test)  # its own heartbeat, not redis


def test_the_reports_fixed_checks_would_be_caught_in_the_example() -> None:
    state = load_state(EXAMPLE, environ=EXAMPLE_ENVIRON).state
    reported = {
        "quantum_dashboard_frontend": ["CMD-SHELL", "ps aux | grep nginx | grep -v grep || exit 1"],
        "quantum_market_publisher": ["CMD-SHELL", "nc -z 127.0.0.1 6379 || exit 1"],
    }
    containers = dict(state.containers)
    for name, test in reported.items():
        check = containers[name].healthcheck
        assert check is not None
        containers[name] = containers[name].model_copy(update={"healthcheck": check.model_copy(update={"test": tuple(test)})})
    declared = Declared(containers)
    assert [lie.code for lie in healthcheck_lies("quantum_dashboard_frontend", declared)] == [PROCESS_GREP]
    assert [lie.code for lie in healthcheck_lies("quantum_market_publisher", declared)] == [OTHER_SERVICE]


@pytest.mark.parametrize(
    ("expose", "expected"),
    [
        ([8080], {8080}),
        (["8080"], {8080}),
        (["9090/tcp", "53/udp"], {9090, 53}),
        (["8000-8002"], {8000, 8001, 8002}),
        ([SimpleNamespace(target=7000)], {7000}),
        (["not-a-port"], set()),
    ],
)
def test_expose_as_compose_writes_it(expose: list[Any], expected: set[int]) -> None:
    """`expose` counts when the model has it, in any of compose's forms (read defensively)."""
    declared = SimpleNamespace(ports=(), expose=expose, command=None, entrypoint=None, environment={})
    assert set(declared_ports(declared)) == expected  # type: ignore[arg-type]
