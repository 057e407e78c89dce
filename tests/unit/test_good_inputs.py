"""The good inputs: SPEC §1's own samples load, and what they mean is what a user expects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from reconciler.model.compose_fields import Dependency
from reconciler.model.load import load_state
from reconciler.model.sensitive import Sensitive
from reconciler.units import PortMapping, VolumeMount

SPEC_SAMPLE = """\
version: 1
settings:
  policy_mode: enforce
  lock: s3://ops-state/reconcile.lock
  parallelism: 10
  secrets: [REDIS_PASSWORD]
hosts:
  vps:
    docker: ssh://root@vps.example.com
    monthly_cost: 24.90
containers:
  quantum_redis:
    host: vps
    image: redis:7
  quantum_redis_exporter:
    host: vps
    image: oliver006/redis_exporter:v1.62.0
    command: ["--redis.addr=redis://quantum_redis:6379"]
    environment: {REDIS_PASSWORD: "${REDIS_PASSWORD}"}
    ports: ["127.0.0.1:9121:9121"]
    volumes: ["exporter-data:/data", "/etc/ssl:/etc/ssl:ro"]
    restart: unless-stopped
    depends_on: [quantum_redis]
    healthcheck:
      test: ["CMD-SHELL", "wget -q --spider http://localhost:9121/metrics || exit 1"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 10s
    logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
    labels: {team: ops}
    network_mode: bridge
    mem_limit: 512MB
    cpus: 0.5
    user: "1000:1000"
    init: true
    stop_signal: SIGTERM
    stop_grace_period: 10s
    state: running
    on_unhealthy: report
disk_budgets:
  vps-root:
    host: vps
    path: /
    max_used_percent: 85
    build_cache_max: 1GB
    prune:
      - build_cache
      - dangling_images
      - unused_images: {older_than: 30d}
      - stopped_containers: {older_than: 7d}
aws:
  region: us-east-1
ec2_instances:
  phase2-worker:
    region: us-east-1
    instance_type: c7i.8xlarge
    ami: ami-0123456789abcdef0
    market: spot
    spot_fallback: on-demand
    state: running
    hours: 42.5
    expires_at: 2025-11-17T00:00:00Z
    subnet_id: subnet-0123456789abcdef0
    security_group_ids: [sg-0123456789abcdef0]
    key_name: ops
    iam_instance_profile: worker
    root_volume_gb: 100
    tags: {Project: bqx-ml}
    protect: false
s3_buckets:
  bqx-ml-phase2-features:
    region: us-east-1
    versioning: true
    encryption: AES256
    block_public_access: true
    lifecycle:
      - {id: expire-tmp, prefix: tmp/, expire_days: 7, noncurrent_expire_days: 30}
      - {id: archive, prefix: exports/, transition_days: 30, storage_class: STANDARD_IA}
    tags: {Project: bqx-ml}
    expected_gb: 50
    protect: true
prices:
  ec2: {us-east-1: {c7i.8xlarge: {on-demand: 1.36, spot: 0.45}}}
  s3:  {us-east-1: {standard_gb_month: 0.023}}
cost_docs:
  - path: docs/costs.md
  - path: docs/phase_2_ec2_cost_analysis.md
    mode: markers
policies:
  require_healthcheck: true
  require_log_rotation: true
  check_healthcheck_binaries: true
  max_monthly_usd: 500
"""


def test_the_spec_sample_loads_with_the_meaning_a_user_expects(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(SPEC_SAMPLE)
    state = load_state(tmp_path, environ={"REDIS_PASSWORD": "hunter2-hunter2"}).state

    exporter = state.containers["quantum_redis_exporter"]
    assert exporter.ports == (PortMapping(9121, 9121, 9121, 9121, "127.0.0.1", "tcp"),)
    assert exporter.volumes == (VolumeMount("exporter-data", "/data"), VolumeMount("/etc/ssl", "/etc/ssl", read_only=True))
    assert exporter.healthcheck is not None
    assert exporter.healthcheck.interval == timedelta(seconds=30)
    assert exporter.mem_limit == 512 * 1024**2  # 512MB in docker's units, as compose reads it
    assert list(exporter.depends_on) == ["quantum_redis"]
    assert exporter.logging is not None and exporter.logging.options == {"max-size": "10m", "max-file": "3"}
    password = exporter.environment["REDIS_PASSWORD"]
    assert isinstance(password, Sensitive) and password.reveal() == "hunter2-hunter2"

    budget = state.disk_budgets["vps-root"]
    assert [(step.kind, step.older_than) for step in budget.prune] == [
        ("build_cache", None),
        ("dangling_images", None),
        ("unused_images", timedelta(days=30)),
        ("stopped_containers", timedelta(days=7)),
    ]
    assert budget.build_cache_max == 1_000_000_000

    worker = state.ec2_instances["phase2-worker"]
    assert worker.hours == Decimal("42.5")
    assert worker.expires_at == datetime(2025, 11, 17, tzinfo=UTC)
    assert state.prices.ec2["us-east-1"]["c7i.8xlarge"].on_demand == Decimal("1.36")
    assert state.hosts["vps"].monthly_cost == Decimal("24.90")
    assert [doc.mode for doc in state.cost_docs] == ["generated", "markers"]


def test_a_secret_never_shows_in_the_model_output(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(SPEC_SAMPLE)
    state = load_state(tmp_path, environ={"REDIS_PASSWORD": "hunter2-hunter2"}).state
    for text in (repr(state), str(state), state.model_dump_json(), str(state.model_dump(mode="json"))):
        assert "hunter2" not in text
    assert state.model_dump(mode="json")["containers"]["quantum_redis_exporter"]["environment"] == {
        "REDIS_PASSWORD": "(sensitive)"
    }


def test_defaults_are_filled_host_and_region(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("aws: {region: eu-west-1}\ns3_buckets:\n  exports: {}\n")
    (tmp_path / "b.yaml").write_text("containers:\n  web: {image: app:1}\n")
    state = load_state(tmp_path, environ={}).state
    assert list(state.hosts) == ["local"]
    assert state.hosts["local"].docker is None  # DOCKER_HOST, else the local socket
    assert state.containers["web"].host == "local"
    assert state.s3_buckets["exports"].region == "eu-west-1"
    assert state.s3_buckets["exports"].protect is True


def test_compose_forms_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(
        "containers:\n"
        "  db: {image: db:1}\n"
        "  web:\n"
        "    image: app:1\n"
        "    command: bundle exec thin -p 3000\n"
        "    environment: [DEBUG=1, 'GREETING=a=b']\n"
        "    labels: [tier=web]\n"
        "    depends_on: {db: {condition: service_healthy}}\n"
        "    healthcheck: {test: curl -f http://localhost/}\n"
        "    restart: on-failure:3\n"
        "    ports: [80, '8000-8001:8000-8001/udp', '[::1]:9000:9000']\n"
        "    user: 1000\n"
        "    mem_limit: 1.5GiB\n"
        "    network_mode: bridge\n"
    )
    web = load_state(tmp_path, environ={}).state.containers["web"]
    assert web.command == ("bundle", "exec", "thin", "-p", "3000")
    assert web.environment == {"DEBUG": "1", "GREETING": "a=b"}
    assert web.labels == {"tier": "web"}
    assert web.depends_on == {"db": Dependency(condition="service_healthy")}
    assert web.healthcheck is not None and web.healthcheck.test == ("CMD-SHELL", "curl -f http://localhost/")
    assert [str(port) for port in web.ports] == ["80", "8000-8001:8000-8001/udp", "[::1]:9000:9000"]
    assert web.user == "1000"
    assert web.mem_limit == 1610612736


def test_files_merge_by_section_across_folders(tmp_path: Path) -> None:
    (tmp_path / "vps").mkdir()
    (tmp_path / "vps" / "a.yaml").write_text("containers:\n  a: {image: a:1}\ncost_docs:\n  - path: docs/a.md\n")
    (tmp_path / "z.yml").write_text("containers:\n  b: {image: b:1}\ncost_docs:\n  - path: docs/b.md\n")
    (tmp_path / ".hidden.yaml").write_text("this is: [not valid\n")
    (tmp_path / "notes.txt").write_text("not: yaml: at all\n")
    loaded = load_state(tmp_path, environ={})
    assert sorted(loaded.state.containers) == ["a", "b"]
    assert [doc.path for doc in loaded.state.cost_docs] == ["docs/a.md", "docs/b.md"]
    assert loaded.files == (str(tmp_path / "vps" / "a.yaml"), str(tmp_path / "z.yml"))


def test_settings_merge_key_by_key_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("settings: {policy_mode: warn}\nprices:\n  ec2: {us-east-1: {t3.micro: {spot: 0.003}}}\n")
    (tmp_path / "b.yaml").write_text("settings: {parallelism: 4}\nprices:\n  ec2: {us-east-1: {t3.small: {spot: 0.006}}}\n")
    state = load_state(tmp_path, environ={}).state
    assert (state.settings.policy_mode, state.settings.parallelism) == ("warn", 4)
    assert sorted(state.prices.ec2["us-east-1"]) == ["t3.micro", "t3.small"]


def test_an_empty_section_is_an_empty_section(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("containers:\n# all commented out for now\ns3_buckets:\n")
    state = load_state(tmp_path, environ={}).state
    assert state.containers == {} and state.s3_buckets == {}


def test_environment_references(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "settings: {secrets: [PW, UNSET]}\n"
        "hosts:\n  vps: {docker: '${DOCKER:-unix:///var/run/docker.sock}'}\n"
        "containers:\n  web:\n    image: app:${TAG:-1}\n"
        "    environment:\n      DSN: 'postgres://app:${PW}@db/app'\n      PRICE: '$$5'\n      EMPTY: '${UNSET-}'\n"
        "      MODE: $MODE\n"
    )
    state = load_state(tmp_path, environ={"PW": "pa$$word", "MODE": "fast"}).state
    env = state.containers["web"].environment
    assert isinstance(env["DSN"], Sensitive) and env["DSN"].reveal() == "postgres://app:pa$$word@db/app"
    assert env["PRICE"] == "$5"  # $$ is a literal $, and nothing from the environment: not sensitive
    assert isinstance(env["EMPTY"], Sensitive) and env["EMPTY"].reveal() == ""  # it uses a secret
    assert env["MODE"] == "fast"  # a plain variable shows its value
    assert state.containers["web"].image == "app:1"
    assert state.hosts["vps"].docker == "unix:///var/run/docker.sock"
