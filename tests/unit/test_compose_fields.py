"""The compose service fields, without an engine: each field's YAML forms load into one normalised
value; each, set as the engine reports it, is a noop, and drift in it is an update in place or a
replace as compose and community.docker do it; what is not supported says what to do instead."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.kinds.base import Observation, RunContext
from reconciler.kinds.identity import owner_of
from reconciler.kinds.network.kind import NetworkKind, SeenNetwork
from reconciler.model.compose_fields import Attachment, Dependency
from reconciler.model.load import load_state
from reconciler.model.sensitive import Sensitive
from reconciler.model.spec import Container, Network, State
from reconciler.units import PortMapping, VolumeMount
from tests.unit.test_container_diff import diff, one_line, record, spec


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> State:
    (tmp_path / "state.yaml").write_text(textwrap.dedent(text))
    return load_state(tmp_path, environ=environ or {}).state


def errors(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "state.yaml").write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as caught:
        load_state(tmp_path, environ={})
    return [str(d) for d in caught.value.diagnostics]


def web(tmp_path: Path, fields: str, environ: dict[str, str] | None = None) -> Container:
    body = textwrap.indent(textwrap.dedent(fields), "    ")
    networks = "networks: {front: }\n" if "networks:" in fields else ""
    return load(tmp_path, f"{networks}containers:\n  web:\n    image: app:1\n{body}", environ).containers["web"]


# --- loading: one normalised value per field, whatever form compose allows ------------------------


@pytest.mark.parametrize(
    ("fields", "attribute", "value"),
    [
        ("extra_hosts: ['a:10.0.0.1', 'b=10.0.0.2']", "extra_hosts", ("a:10.0.0.1", "b:10.0.0.2")),
        ("extra_hosts: {b: 10.0.0.2, a: 10.0.0.1}", "extra_hosts", ("a:10.0.0.1", "b:10.0.0.2")),
        ("ulimits: {nproc: 65535, nofile: {soft: 1, hard: 2}}", "ulimits", {"nproc": (65535, 65535), "nofile": (1, 2)}),
        ("cap_add: [net_admin, CAP_SYS_TIME]", "cap_add", ("NET_ADMIN", "SYS_TIME")),
        ("tmpfs: /run", "tmpfs", {"/run": ""}),
        ("tmpfs: ['/run', '/tmp:size=64m']", "tmpfs", {"/run": "", "/tmp": "size=64m"}),
        ("volumes: [{type: tmpfs, target: /t, tmpfs: {size: 1k}}]", "tmpfs", {"/t": "size=1024"}),
        ("sysctls: [net.core.somaxconn=1024]", "sysctls", {"net.core.somaxconn": "1024"}),
        ("sysctls: {net.core.somaxconn: 1024}", "sysctls", {"net.core.somaxconn": "1024"}),
        ("devices: [/dev/fuse, '/dev/a:/dev/b', '/dev/c:r']", "devices", ("/dev/fuse:/dev/fuse:rwm", "/dev/a:/dev/b:rwm", "/dev/c:/dev/c:r")),
        ("devices: [{source: /dev/a, target: /dev/b, permissions: r}]", "devices", ("/dev/a:/dev/b:r",)),
        ("volumes: ['/srv:/srv:ro,Z', '/a:/a:z']", "volumes", (VolumeMount("/srv", "/srv", True, "Z"), VolumeMount("/a", "/a", False, "z"))),
        ("volumes: [{type: bind, source: /s, target: /s, bind: {selinux: z}}]", "volumes", (VolumeMount("/s", "/s", False, "z"),)),
        ("mem_limit: 128mb", "mem_limit", 128 * 1024**2),
        ("deploy: {resources: {limits: {memory: 1GB}}}", "mem_limit", 1024**3),
        ("expose: [3000, '8000-8001', 53/udp]", "expose", ("53/udp", "3000", "8000-8001")),  # as written: compose hands them over so
        ("dns: 10.0.0.53", "dns", ("10.0.0.53",)),
        ("pull_policy: if_not_present", "pull_policy", "missing"),
        ("shm_size: 256m", "shm_size", 256 * 1024**2),
        ("pids_limit: -1", "pids_limit", -1),
        ("read_only: true", "read_only", True),
        ("container_name: web-1", "container_name", "web-1"),
        ("platform: linux/arm64/v8", "platform", "linux/arm64/v8"),
        ("networks: [front]", "networks", {"front": Attachment()}),
        ("networks: {front: {aliases: [b, a, a]}}", "networks", {"front": Attachment(("a", "b"))}),
        ("ports: [{target: 80, published: '8080', host_ip: 127.0.0.1, protocol: udp, mode: host}]", "ports",
         (PortMapping(80, 80, 8080, 8080, "127.0.0.1", "udp"),)),
        ("volumes: [{type: volume, source: data, target: /data, read_only: true}]", "volumes", (VolumeMount("data", "/data", True),)),
        ("volumes: ['data:/data:ro,cached']", "volumes", (VolumeMount("data", "/data", True),)),
        ("labels: [tier=web, bare]", "labels", {"tier": "web", "bare": ""}),
        ("labels: {bare: }", "labels", {"bare": ""}),
        ("environment: [SET, UNSET, A=1]", "environment", {"SET": "from the run", "A": "1"}),
        ("environment: {SET: , UNSET: }", "environment", {"SET": "from the run"}),
        ("depends_on: {db: {condition: service_completed_successfully, restart: true}}", "depends_on",
         {"db": Dependency("service_completed_successfully", True, True)}),
        ("deploy: {resources: {limits: {cpus: '0.25', memory: 1g, pids: 10}, reservations: {memory: 512m}}}", "mem_limit", 1024**3),
        ("deploy: {resources: {limits: {cpus: '0.25'}}}", "cpus", 0.25),
        ("deploy: {resources: {limits: {pids: 10}}}", "pids_limit", 10),
        ("deploy: {resources: {reservations: {memory: 512m}}}", "mem_reservation", 512 * 1024**2),
        ("x-anything: {whatever: 1}", "image", "app:1"),
    ],
)  # fmt: skip
def test_each_compose_form_loads_into_one_value(tmp_path: Path, fields: str, attribute: str, value: Any) -> None:
    if attribute == "depends_on":
        fields = "depends_on: {db: {condition: service_completed_successfully, restart: true}}"
        state = load(tmp_path, f"containers:\n  db: {{image: db:1}}\n  web:\n    image: app:1\n    {fields}\n")
        assert state.containers["web"].depends_on == value
        return
    container = web(tmp_path, fields, environ={"SET": "from the run"})
    got = getattr(container, attribute)
    if attribute == "environment":
        assert {k: (v.reveal() if isinstance(v, Sensitive) else v) for k, v in got.items()} == {
            k: (v.reveal() if isinstance(v, Sensitive) else v) for k, v in value.items()
        }
        assert all(isinstance(got[k], Sensitive) for k in value if isinstance(value[k], Sensitive))
    else:
        assert got == value


def test_anchors_merge_keys_and_extensions_read_as_compose_reads_them(tmp_path: Path) -> None:
    state = load(
        tmp_path,
        """\
        x-base: &base
          restart: always
          logging: {driver: json-file, options: {max-size: 10m}}
        containers:
          a: {<<: *base, image: app:1, x-owner: ops}
          b:
            <<: *base
            image: app:2
            restart: "no"
        """,
    )
    assert state.containers["a"].restart == "always" and state.containers["a"].logging is not None
    assert state.containers["b"].restart == "no"  # a key of its own wins over the merged one


def test_relative_paths_are_relative_to_the_file_that_declares_them(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.env").write_text("FROM_FILE=1\nBOTH=file\n")
    (tmp_path / "apps" / "web.yaml").write_text(
        "containers:\n  web:\n    image: app:1\n    env_file: web.env\n    environment: {BOTH: here}\n"
        "    volumes: ['./data:/data', '../shared:/shared:ro', {type: bind, source: ./conf, target: /conf}]\n"
    )
    container = load_state(tmp_path, environ={}).state.containers["web"]
    base = (tmp_path / "apps").resolve()
    assert [str(v) for v in container.volumes] == [f"{base}/data:/data", f"{base.parent}/shared:/shared:ro", f"{base}/conf:/conf"]
    assert isinstance(container.environment["FROM_FILE"], Sensitive)  # an env file is where secrets live
    assert container.environment["FROM_FILE"].reveal() == "1"
    assert container.environment["BOTH"] == "here"  # environment wins over env_file, as in compose


def test_a_missing_env_file_is_located_unless_it_is_optional(tmp_path: Path) -> None:
    [message] = errors(tmp_path, "containers:\n  web:\n    image: app:1\n    env_file: [nope.env]\n")
    assert "state.yaml:4:" in message and "env_file" in message and "no such file" in message
    assert web(tmp_path, "env_file: [{path: nope.env, required: false}]").environment == {}


def test_profiles_not_active_make_a_container_absent(tmp_path: Path) -> None:
    state = load(
        tmp_path,
        """\
        settings: {profiles: [debug]}
        containers:
          always: {image: app:1}
          debug: {image: app:1, profiles: [debug]}
          dev: {image: app:1, profiles: [dev, test]}
        """,
    )
    assert [state.containers[n].state for n in ("always", "debug", "dev")] == ["running", "running", "absent"]


def test_compose_profiles_in_env_activate_profiles_as_settings_do(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMPOSE_PROFILES=debug,test\n")
    state = load(tmp_path, "containers:\n  debug: {image: app:1, profiles: [debug]}\n  dev: {image: app:1, profiles: [dev]}\n")
    assert [state.containers[n].state for n in ("debug", "dev")] == ["running", "absent"]


def test_containers_that_name_no_network_join_the_states_default_network_as_in_compose(tmp_path: Path) -> None:
    state = load(
        tmp_path,
        """\
        settings: {name: shop}
        networks: {back: }
        containers:
          db: {image: app:1, container_name: shop-db}
          web: {image: app:1, networks: [default, back]}
          worker: {image: app:1, networks: [back]}
          metrics: {image: app:1, network_mode: host}
          bridged: {image: app:1, network_mode: bridge}
          off: {image: app:1, profiles: [never]}
          sidecar: {image: app:1, network_mode: "service:db"}
        """,
    )
    assert sorted(state.networks) == ["back", "shop_default"] and state.networks["shop_default"].host == "local"
    joined = {name: sorted(c.networks) for name, c in state.containers.items()}
    assert joined == {"db": ["shop_default"], "web": ["back", "shop_default"], "worker": ["back"], "metrics": [],
                      "bridged": [], "off": [], "sidecar": []}  # fmt: skip
    assert state.containers["sidecar"].network_mode == "container:db"  # compose's service:NAME
    assert state.containers["db"].networks == {"shop_default": Attachment(("db",))}  # its service name, beside shop-db


def test_typed_after_interpolation_and_empty_is_unset_as_in_compose(tmp_path: Path) -> None:
    env = {"RETRIES": "3", "CPUS": "0.5", "INIT": "true", "SHM": "128mb"}
    container = web(
        tmp_path,
        """\
        healthcheck: {test: [CMD, "true"], retries: $RETRIES}
        cpus: $CPUS
        init: $INIT
        shm_size: $SHM
        platform: ${DOCKER_PLATFORM:-}
        container_name: ${NAME:-}
        ports: ["${HOST_IP:-}:2283:2283", "8100-8101:80"]
        stop_grace_period: 1500ms
        """,
        env,
    )
    assert container.healthcheck is not None and container.healthcheck.retries == 3
    assert (container.cpus, container.init, container.shm_size) == (0.5, True, 134_217_728)
    assert (container.platform, container.container_name) == (None, None)
    assert [str(p) for p in container.ports] == ["2283:2283", "8100-8101:80"]
    assert [p.host_port(0) for p in container.ports] == ["2283", "8100-8101"]  # the engine picks one of the range
    [message] = errors(tmp_path, "containers:\n  web:\n    image: app:1\n    healthcheck: {retries: three}\n")
    assert "state.yaml:4:" in message and "expected an integer, got 'three'" in message


def test_build_beside_image_is_not_run_and_says_so_build_alone_is_refused(tmp_path: Path) -> None:
    from reconciler.policies.compose import compose_findings

    container = web(tmp_path, "build: {context: .}\n")
    [finding] = compose_findings("container.web", container)
    assert finding.severity == "warning" and "not run" in finding.message and "push it, and pin its tag" in finding.remedy
    messages = errors(tmp_path, "containers:\n  web:\n    build: .\n")
    assert any("not supported: build — reconcile never builds images" in message for message in messages)


def test_an_optional_dependency_may_be_missing_a_required_one_may_not(tmp_path: Path) -> None:
    assert web(tmp_path, "depends_on: {gone: {required: false}}").depends_on == {"gone": Dependency(required=False)}
    [message] = errors(tmp_path, "containers:\n  web:\n    image: app:1\n    depends_on: {gone: {condition: service_started}}\n")
    assert "no container 'gone'" in message


def test_a_network_a_container_joins_must_be_declared(tmp_path: Path) -> None:
    [message] = errors(tmp_path, "networks: {front: }\ncontainers:\n  web:\n    image: app:1\n    networks: [frnt]\n")
    assert "state.yaml:5:" in message and "no network 'frnt' (did you mean 'front'?)" in message
    [message] = errors(
        tmp_path, "networks: {front: }\ncontainers:\n  web:\n    image: app:1\n    network_mode: host\n    networks: [front]\n"
    )
    assert "cannot be combined" in message


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ("configs: [app]", "no config 'app'; declare it under the top-level configs:"),
        ("gpus: all", "not supported: gpus"),
        ("cpuset: '0-1'", "not supported: cpuset — use cpus"),
        ("scale: 2", "not supported: scale — declare each copy as its own container"),
        ("links: [db]", "not supported: links"),
        ("extends: {service: base}", "not supported: extends — use a YAML anchor and a merge key"),
        ("mem_swappiness: 0", "not supported: mem_swappiness — use mem_limit"),
        ("deploy: {replicas: 3}", "must be between 1 and 1"),
        ("deploy: {placement: {constraints: []}}", "not supported: deploy.placement"),
        ("deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}", "not supported: device reservations"),
        ("volumes: [/data]", "not supported: an anonymous volume"),
        ("volumes: ['/srv:/srv:ro,shared']", "not supported: volume mode 'ro,shared'"),
        ("pull_policy: build", "not supported: pull_policy: build"),
        ("networks: {front: {ipv4_address: 10.0.0.2}}", "not supported: networks.front.ipv4_address"),
    ],
)
def test_what_is_not_supported_says_what_to_do_instead_never_did_you_mean(tmp_path: Path, fields: str, says: str) -> None:
    text = f"networks: {{front: }}\ncontainers:\n  web:\n    image: app:1\n    {fields}\n"
    found = errors(tmp_path, text)
    assert len(found) == 1, found
    assert says in found[0] and "did you mean" not in found[0]


def test_compose_keys_once_misread_as_other_keys_are_fields_now(tmp_path: Path) -> None:
    """networks → network_mode, hostname → host, pids_limit/ulimits/memswap_limit → mem_limit were
    the suggestions before; each is its own field."""
    state = load(
        tmp_path,
        "networks: {front: }\ncontainers:\n  web:\n    image: app:1\n    hostname: box\n    pids_limit: 10\n"
        "    ulimits: {nofile: 10}\n    memswap_limit: 1g\n    networks: [front]\n",
    )
    container = state.containers["web"]
    assert (container.hostname, container.pids_limit, container.memswap_limit) == ("box", 10, 1024**3)
    assert list(container.networks) == ["front"] and state.networks == {"front": Network(host="local")}


def test_a_named_volume_takes_compose_driver_options_and_labels_in_either_form(tmp_path: Path) -> None:
    state = load(
        tmp_path,
        "volumes:\n  data:\n    driver: local\n    driver_opts: {type: tmpfs, device: tmpfs}\n"
        "    labels: [tier=db, backup]\n  other:\n  ext: {external: true}\n",
    )
    data = state.volumes["data"]
    assert (data.driver, dict(data.driver_opts), dict(data.labels)) == (
        "local",
        {"type": "tmpfs", "device": "tmpfs"},
        {"tier": "db", "backup": ""},
    )
    assert (state.volumes["other"].driver, state.volumes["ext"].external) == ("local", True)


def test_top_level_compose_keys_say_what_to_do(tmp_path: Path) -> None:
    found = errors(tmp_path, "version: '3.8'\nservices:\n  web: {image: app:1}\nvolumes: {data: }\n")
    assert any("version: compose's version key is obsolete" in m for m in found)
    assert any("not supported: top-level services — put each service under containers:" in m for m in found)
    assert len(found) == 2  # volumes: is accepted


def test_ports_with_host_networking_load_and_are_a_warning(tmp_path: Path) -> None:
    from reconciler.policies.compose import compose_findings

    container = web(tmp_path, "network_mode: host\nports: ['80:80']\n")
    [finding] = compose_findings("container.web", container)
    assert (finding.severity, finding.code) == ("warning", "ports-ignored")


# --- diff: the engine's form is a noop; drift is in place or a replace ------------------------------

Edit = Callable[[dict[str, Any]], None]


def _host(**values: Any) -> Edit:
    return lambda r: r["HostConfig"].update(values)


def _config(**values: Any) -> Edit:
    return lambda r: r["Config"].update(values)


FIELD_CASES: list[tuple[dict[str, Any], Edit, str]] = [
    ({"hostname": "box"}, _config(Hostname="box"), "replace"),
    ({"domainname": "example.test"}, _config(Domainname="example.test"), "replace"),
    ({"working_dir": "/srv"}, _config(WorkingDir="/srv"), "replace"),
    ({"expose": [8080]}, _config(ExposedPorts={"8080/tcp": {}}), "replace"),  # made before expose was written as declared
    ({"expose": ["8080-8081"]}, _config(ExposedPorts={"8080-8081": {}}), "replace"),
    ({"extra_hosts": ["db:10.0.0.5"]}, _host(ExtraHosts=["db:10.0.0.5"]), "replace"),
    ({"dns": ["10.0.0.53"]}, _host(Dns=["10.0.0.53"]), "replace"),
    ({"dns_search": ["example.test"]}, _host(DnsSearch=["example.test"]), "replace"),
    ({"dns_opt": ["ndots:2"]}, _host(DnsOptions=["ndots:2"]), "replace"),
    ({"ulimits": {"nofile": {"soft": 1, "hard": 2}}}, _host(Ulimits=[{"Name": "nofile", "Soft": 1, "Hard": 2}]), "replace"),
    ({"pids_limit": 64}, _host(PidsLimit=64), "update"),
    ({"mem_reservation": "32MB"}, _host(MemoryReservation=32 * 1024**2), "update"),  # docker's units: binary
    ({"memswap_limit": "100mb"}, _host(MemorySwap=100 * 1024**2), "replace"),
    ({"shm_size": "32m"}, _host(ShmSize=32 * 1024**2), "replace"),
    ({"cap_add": ["net_admin"]}, _host(CapAdd=["CAP_NET_ADMIN"]), "replace"),
    ({"cap_drop": ["MKNOD"]}, _host(CapDrop=["CAP_MKNOD"]), "replace"),
    ({"privileged": True}, _host(Privileged=True), "replace"),
    ({"read_only": True}, _host(ReadonlyRootfs=True), "replace"),
    ({"security_opt": ["no-new-privileges:true"]}, _host(SecurityOpt=["no-new-privileges:true"]), "replace"),
    ({"sysctls": {"net.core.somaxconn": 1024}}, _host(Sysctls={"net.core.somaxconn": "1024"}), "replace"),
    ({"devices": ["/dev/zero:/dev/z:r"]}, _host(Devices=[{"PathOnHost": "/dev/zero", "PathInContainer": "/dev/z", "CgroupPermissions": "r"}]), "replace"),
    ({"tmpfs": ["/run:size=1m"]}, _host(Tmpfs={"/run": "size=1m"}), "replace"),
    ({"group_add": ["100"]}, _host(GroupAdd=["100"]), "replace"),
    ({"tty": True}, _config(Tty=True), "replace"),
    ({"stdin_open": True}, _config(OpenStdin=True), "replace"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "engine_form", "action"), FIELD_CASES, ids=[next(iter(c[0])) for c in FIELD_CASES])
def test_each_field_as_the_engine_reports_it_is_a_noop_and_its_absence_is_drift(
    changes: dict[str, Any], engine_form: Edit, action: str
) -> None:
    assert one_line(diff(spec(**changes), record(engine_form))) == "noop container.fixture"
    drifted = diff(spec(**changes), record())
    assert drifted.action == action
    assert [c.path.partition(".")[0] for c in drifted.changes] == [next(iter(changes))]


def test_what_the_engine_chooses_itself_is_never_drift() -> None:
    """The fixture is a real inspect: a hostname from the id, the 64 MiB shm, no swap limit."""
    assert one_line(diff(spec(), record())) == "noop container.fixture"
    assert one_line(diff(spec(), record(_config(Hostname="something-else")))) == "noop container.fixture"


def test_networks_and_aliases_the_engine_adds_are_not_drift() -> None:
    def on_networks(r: dict[str, Any]) -> None:
        short = r["Id"][:12]
        r["HostConfig"]["NetworkMode"] = "back"
        r["NetworkSettings"]["Networks"] = {
            "back": {"Aliases": ["api", short, r["Config"]["Hostname"]]},
            "front": {"Aliases": [short]},
        }

    desired = spec(network_mode="bridge", networks={"front": None, "back": {"aliases": ["api"]}})
    assert one_line(diff(desired, record(on_networks))) == "noop container.fixture"
    moved = diff(spec(network_mode="bridge", networks={"front": None}), record(on_networks))
    assert moved.action == "replace" and "networks.back" in {c.path for c in moved.changes}


def test_a_declared_container_name_is_compared_with_the_engines() -> None:
    assert diff(spec(container_name="reconciler-fixture"), record()).action == "noop"
    renamed = diff(spec(container_name="web-1"), record())
    assert one_line(renamed) == 'replace container.fixture (container_name: "reconciler-fixture" → "web-1")'


def test_a_container_on_a_network_depends_on_it() -> None:
    assert "network.front" in diff(spec(network_mode="bridge", networks=["front"]), record()).depends_on


# --- the network kind's diff (pure) -----------------------------------------------------------------


def network_diff(desired: Network | None, seen: SeenNetwork | None, containers: dict[str, Any] | None = None) -> str:
    state = State.model_validate({"containers": containers or {}})
    kind = NetworkKind(RunContext(state=state, state_dir=Path("."), now=datetime.now(UTC)))
    action = kind.diff("front", desired, Observation("sha256:x", seen) if seen else None)
    blocked = f" [blocked: {action.blocked.reason}]" if action.blocked else ""
    return f"{action.action}{blocked} " + ", ".join(f"{c.path}: {c.before} → {c.after}" for c in action.changes)


def seen_network(
    managed: bool = True, containers: tuple[str, ...] = (), stamped: str | None = "default", **view: Any
) -> SeenNetwork:
    base = {"driver": "bridge", "driver_opts": {}, "internal": False, "attachable": False, "enable_ipv6": False, "labels": {}}
    owner = owner_of(stamped, "default") if managed else None
    return SeenNetwork("local", "n1", "front", owner, stamped if managed else None, {**base, **view}, containers)


def test_network_diff() -> None:
    declared = Network(host="local", internal=True)
    assert network_diff(declared, None).startswith("create")
    assert network_diff(declared, seen_network(internal=True)) == "noop "
    assert network_diff(declared, seen_network()) == "replace internal: False → True"
    assert network_diff(declared, seen_network(containers=("web",))).startswith(
        "replace [blocked: a network cannot change in place"
    )
    assert network_diff(declared, seen_network(managed=False)).startswith("create [blocked: network front exists")
    assert network_diff(None, seen_network(managed=False)) == "noop "
    assert network_diff(Network(host="local", external=True), None).startswith("noop [blocked: external network front")
    assert network_diff(Network(host="local", external=True), seen_network(managed=False)) == "noop "
    assert network_diff(declared, seen_network(stamped="blue", internal=True)).startswith(
        "create [blocked: network front belongs to state blue"
    )
    assert network_diff(None, seen_network(stamped="blue")) == "noop "  # another state's: never deleted
    assert network_diff(None, seen_network(stamped=None)) == "noop "  # legacy and not declared here: left alone
    assert network_diff(declared, seen_network(stamped=None, internal=True)) == "noop "  # legacy: claimed


def test_a_network_is_removed_after_the_containers_of_its_host() -> None:
    state = State.model_validate({"containers": {"web": {"image": "app:1"}}})
    kind = NetworkKind(RunContext(state=state, state_dir=Path("."), now=datetime.now(UTC)))
    orphan = Observation("sha256:y", type("Seen", (), {"host": "local"})())
    kind.ctx.observed = {"container": {"gone": orphan}}
    action = kind.diff("front", None, Observation("sha256:x", seen_network(containers=("gone-engine-name",))))
    assert (action.action, action.depends_on) == ("delete", ["container.gone", "container.web"])


def test_a_container_on_the_engines_bridge_is_replaced_onto_the_default_network_and_the_plan_says_why() -> None:
    from tests.unit.test_container_diff import SPEC

    declared = {key: value for key, value in SPEC.items() if key != "network_mode"}
    state = State.model_validate({"containers": {"fixture": declared}})  # settings.name: default, as the kind's
    action = diff(state.containers["fixture"], record(lambda r: r["HostConfig"].update(NetworkMode="bridge")))
    assert one_line(action) == (
        'replace container.fixture (network_mode: "bridge" → "default_default", networks.default_default: null → [])'
    )
    assert action.reasons == [
        "joins the default network default_default (it names no network: compose's PROJECT_default)",
        "networks.default_default changed",
    ]
    assert "network.default_default" in action.depends_on  # the network is made first


def test_with_several_hosts_there_is_no_default_network_to_name(tmp_path: Path) -> None:
    hosts = "hosts:\n  a: {docker: 'unix:///a.sock'}\n  b: {docker: 'unix:///b.sock'}\n"
    [message] = errors(tmp_path, f"{hosts}containers:\n  web:\n    image: app:1\n    host: a\n    networks: [default]\n")
    assert "no network 'default'" in message
    state = load(tmp_path, f"{hosts}containers:\n  web: {{image: app:1, host: a}}\n")
    assert state.containers["web"].networks == {} and not state.networks  # stays on the engine's bridge
