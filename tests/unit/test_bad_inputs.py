"""A corpus of bad desired states, one mistake each: the user gets exactly one error, at the right
FILE:LINE, naming the key or value (and what they probably meant)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.model.load import load_state


@dataclass
class Case:
    id: str
    files: dict[str, str]
    where: str  # FILE:LINE of the one error, FILE relative to the state directory
    says: list[str]
    environ: dict[str, str] = field(default_factory=dict)


def one(
    text: str, where: int, *says: str, environ: dict[str, str] | None = None, name: str = "state.yaml"
) -> tuple[dict[str, str], str, list[str], dict[str, str]]:
    return {name: text}, f"{name}:{where}", list(says), environ or {}


def web(extra: str) -> str:
    """A valid container `web` plus ``extra`` lines of its own (at line 4 onwards)."""
    return "containers:\n  web:\n    image: app:1\n" + textwrap.indent(textwrap.dedent(extra), "    ")


CASES = [
    # --- the file itself ---
    Case("yaml-syntax", *one("containers:\n  web:\n    image: [app:1\n", 4, "YAML syntax error")),
    Case("top-level-list", *one("- containers\n- hosts\n", 1, "top level must be a mapping")),
    Case("unknown-section", *one("containerz:\n  web: {image: app:1}\n", 1, "'containerz'", "did you mean 'containers'")),
    Case("duplicate-key", *one("containers:\n  web: {image: app:1}\n  web: {image: app:2}\n", 3, "duplicate key", "web")),
    Case(
        "same-name-two-files",
        {"a.yaml": "containers:\n  web: {image: app:1}\n", "b.yaml": "\ncontainers:\n  web: {image: app:2}\n"},
        "b.yaml:3",
        ["containers.web is declared twice", "a.yaml:2"],
    ),
    Case("version-2", *one("version: 2\ncontainers:\n  web: {image: app:1}\n", 1, "version", "2")),
    # --- keys ---
    Case("unknown-key", *one(web("helthcheck: {test: [NONE]}\n"), 4, "'helthcheck'", "did you mean 'healthcheck'")),
    Case(
        "unknown-policy",
        *one("policies:\n  require_healthchecks: true\n", 2, "'require_healthchecks'", "did you mean 'require_healthcheck'"),
    ),
    Case(
        "missing-image", *one("containers:\n  web:\n    restart: always\n", 2, "containers.web", "missing required key 'image'")
    ),
    Case(
        "unknown-price-market",
        *one(
            "prices:\n  ec2:\n    us-east-1:\n      c7i.8xlarge: {ondemand: 1.36}\n", 4, "'ondemand'", "did you mean 'on-demand'"
        ),
    ),
    # --- types and enums ---
    Case("wrong-type", *one(web("cpus: lots\n"), 4, "containers.web.cpus", "'lots'")),
    Case("bool-not-number", *one(web("init: 1\n"), 4, "containers.web.init", "true or false")),
    Case("state-enum", *one(web("state: runing\n"), 4, "'runing'", "did you mean 'running'")),
    Case("restart-policy", *one(web("restart: sometimes\n"), 4, "'sometimes'", "on-failure[:N]")),
    Case("restart-on-failure-count", *one(web("restart: on-failure:x\n"), 4, "'on-failure:x'")),
    Case("on-unhealthy", *one(web("on_unhealthy: reboot\n"), 4, "'reboot'", "report or restart")),
    Case("network-mode", *one(web("network_mode: bridged\n"), 4, "'bridged'", "container:NAME")),
    Case("duration-without-unit", *one(web("stop_grace_period: 30\n"), 4, "stop_grace_period", "unit")),
    Case("duration-bad", *one(web("healthcheck:\n  test: [NONE]\n  interval: 1m30x\n"), 6, "'1m30x'", "invalid duration")),
    Case("size", *one(web("mem_limit: 512XB\n"), 4, "'512XB'", "invalid size")),
    Case("negative-retries", *one(web("healthcheck:\n  test: [NONE]\n  retries: -1\n"), 6, "retries", "-1")),
    Case("healthcheck-empty", *one(web("healthcheck:\n  test: []\n"), 5, "healthcheck.test", "empty healthcheck test")),
    Case(
        "healthcheck-kind", *one(web("healthcheck:\n  test: [RUN, wget]\n"), 5, "healthcheck.test[0]", "CMD, CMD-SHELL or NONE")
    ),
    Case("healthcheck-none-args", *one(web("healthcheck:\n  test: [NONE, x]\n"), 5, "healthcheck.test[1]", "NONE")),
    Case(
        "environment-item",
        *one(web("environment:\n  - DEBUG=1\n  - two words\n"), 6, "environment[1]", "KEY=VALUE"),
    ),
    Case("reserved-label", *one(web("labels: {reconciler.managed: 'false'}\n"), 4, "reconciler.managed", "reserved")),
    # --- compose strings ---
    Case("port-range", *one(web("ports: ['8080:80', '99999:80']\n"), 4, "ports[1]", "99999")),
    Case("port-protocol", *one(web("ports: ['80:80/icmp']\n"), 4, "ports[0]", "'icmp'")),
    Case(
        "ports-with-no-network",
        *one(web("network_mode: none\nports: ['80:80']\n"), 5, "containers.web.ports", "network_mode: none"),
    ),
    Case("volume-target", *one(web("volumes: ['data:data']\n"), 4, "volumes[0]", "'data'", "absolute")),
    Case("volume-mode", *one(web("volumes: ['/srv:/srv:rx']\n"), 4, "volumes[0]", "'rx'")),
    # --- references ---
    Case(
        "depends-on-dangling",
        *one(
            "containers:\n  redis: {image: r:1}\n  web:\n    image: app:1\n    depends_on: [reddis]\n",
            5,
            "'reddis'",
            "did you mean 'redis'",
        ),
    ),
    Case(
        "depends-on-cycle",
        *one(
            "containers:\n  a:\n    image: x:1\n    depends_on: [b]\n  b:\n    image: x:1\n    depends_on: [a]\n",
            4,
            "cycle",
            "a → b → a",
        ),
    ),
    Case("depends-on-self", *one(web("depends_on: [web]\n"), 4, "itself")),
    Case("network-container-dangling", *one(web("network_mode: container:ghost\n"), 4, "'ghost'")),
    Case("network-host-dangling", *one("networks:\n  front: {host: nowhere}\n", 2, "no host 'nowhere'", "implicit 'local'")),
    Case(
        "host-dangling",
        *one(
            "hosts:\n  vps: {docker: 'ssh://root@vps'}\ncontainers:\n  web: {image: app:1, host: vsp}\n",
            4,
            "'vsp'",
            "did you mean 'vps'",
        ),
    ),
    Case(
        "host-ambiguous",
        *one(
            "hosts:\n  a: {docker: 'unix:///a.sock'}\n  b: {docker: 'unix:///b.sock'}\ncontainers:\n  web: {image: app:1}\n",
            5,
            "containers.web",
            "host is required",
            "a, b",
        ),
    ),
    Case("docker-url", *one("hosts:\n  vps:\n    docker: http://vps:2375\n", 3, "'http://vps:2375'", "unix://")),
    Case(
        "tls-on-ssh", *one("hosts:\n  vps:\n    docker: ssh://root@vps\n    tls: {ca: a, cert: b, key: c}\n", 4, "tls", "tcp://")
    ),
    # --- AWS ---
    Case(
        "instance-type",
        *one(
            "aws: {region: us-east-1}\nec2_instances:\n  w:\n    instance_type: c7i-8xlarge\n    ami: ami-0123456789abcdef0\n",
            4,
            "'c7i-8xlarge'",
            "did you mean 'c7i.8xlarge'",
        ),
    ),
    Case(
        "ami",
        *one(
            "aws: {region: us-east-1}\nec2_instances:\n  w:\n    instance_type: t3.micro\n    ami: ami-123\n",
            5,
            "'ami-123'",
            "AMI id",
        ),
    ),
    Case(
        "market",
        *one(
            "aws: {region: us-east-1}\nec2_instances:\n  w:\n    instance_type: t3.micro\n    ami: ami-0123456789abcdef0\n    market: spot-instance\n",
            6,
            "'spot-instance'",
            "spot or on-demand",
        ),
    ),
    Case(
        "fallback-without-spot",
        *one(
            "aws: {region: us-east-1}\nec2_instances:\n  w:\n    instance_type: t3.micro\n    ami: ami-0123456789abcdef0\n    spot_fallback: on-demand\n",
            6,
            "spot_fallback",
            "market: spot",
        ),
    ),
    Case(
        "expires-without-zone",
        *one(
            "aws: {region: us-east-1}\nec2_instances:\n  w:\n    instance_type: t3.micro\n    ami: ami-0123456789abcdef0\n    expires_at: 2025-11-17T00:00:00\n",
            6,
            "expires_at",
            "time zone",
        ),
    ),
    Case(
        "region-missing",
        *one(
            "ec2_instances:\n  w:\n    instance_type: t3.micro\n    ami: ami-0123456789abcdef0\n",
            2,
            "ec2_instances.w",
            "region is required",
        ),
    ),
    Case("region-bad", *one("aws: {region: useast1}\n", 1, "'useast1'", "us-east-1")),
    Case("bucket-uppercase", *one("aws: {region: us-east-1}\ns3_buckets:\n  BQX_Exports: {}\n", 3, "'BQX_Exports'", "lowercase")),
    Case("bucket-ip", *one("aws: {region: us-east-1}\ns3_buckets:\n  192.168.0.1: {}\n", 3, "'192.168.0.1'", "IP address")),
    Case("bucket-reserved-prefix", *one("aws: {region: us-east-1}\ns3_buckets:\n  xn--exports: {}\n", 3, "'xn--'", "reserved")),
    Case(
        "encryption",
        *one(
            "aws: {region: us-east-1}\ns3_buckets:\n  exports:\n    encryption: AES-256\n",
            4,
            "'AES-256'",
            "did you mean 'AES256'",
        ),
    ),
    Case(
        "lifecycle-negative-days",
        *one(
            "aws: {region: us-east-1}\ns3_buckets:\n  exports:\n    lifecycle:\n      - {id: tmp, expire_days: -1}\n",
            5,
            "expire_days",
            "at least 1",
        ),
    ),
    Case(
        "lifecycle-ia-too-soon",
        *one(
            "aws: {region: us-east-1}\ns3_buckets:\n  exports:\n    lifecycle:\n      - {id: a, transition_days: 7, storage_class: STANDARD_IA}\n",
            5,
            "transition_days",
            "30 days",
        ),
    ),
    Case(
        "negative-price",
        *one(
            "prices:\n  ec2:\n    us-east-1:\n      t3.micro: {spot: -0.01}\n",
            4,
            "prices.ec2.us-east-1.t3.micro.spot",
            "negative",
        ),
    ),
    # --- cost docs, disk budgets ---
    Case(
        "cost-doc-mode",
        *one("cost_docs:\n  - path: docs/costs.md\n    mode: generate\n", 3, "'generate'", "did you mean 'generated'"),
    ),
    Case("cost-doc-absolute", *one("cost_docs:\n  - path: /etc/passwd\n", 2, "'/etc/passwd'", "relative")),
    Case(
        "cost-doc-twice",
        *one("cost_docs:\n  - path: docs/a.md\n  - path: docs/a.md\n", 3, "'docs/a.md'", "already declared", "state.yaml:2"),
    ),
    Case("percent", *one("disk_budgets:\n  root:\n    max_used_percent: 150\n", 3, "max_used_percent", "between 1 and 100")),
    Case(
        "prune-step",
        *one(
            "disk_budgets:\n  root:\n    max_used_percent: 85\n    prune: [build_cache, old_images]\n",
            4,
            "'old_images'",
            "unused_images",
        ),
    ),
    # --- the environment ---
    Case("env-missing", *one(web("environment: {PASSWORD: '${DB_PASSWORD}'}\n"), 4, "DB_PASSWORD", "not set")),
    Case(
        "env-required-message",
        *one(web("environment: {PASSWORD: '${DB_PASSWORD:?ask the ops channel}'}\n"), 4, "DB_PASSWORD", "ask the ops channel"),
    ),
    Case("env-unterminated", *one(web("environment: {PASSWORD: '${DB_PASSWORD'}\n"), 4, "unterminated")),
    Case(
        "secret-not-allowed-here",
        *one(
            "settings: {secrets: [TAG]}\ncontainers:\n  web:\n    image: 'app:${TAG}'\n",
            4,
            "containers.web.image",
            "uses a secret",
            environ={"TAG": "1.2"},
        ),
    ),
    Case(
        "bad-reference",
        *one(web("labels: {v: 'app:${TAG/1/2}'}\n"), 4, "containers.web.labels.v", "unsupported", "${VAR:-default}"),
    ),
    Case("bad-name", *one(web("labels: {a: '${1X}'}\n"), 4, "containers.web.labels.a", "invalid variable reference ${1X}")),
    # --- configs ---
    Case(
        "config-undeclared",
        *one(web("configs: [app]\n"), 4, "containers.web.configs[0]", "no config 'app'", "top-level configs:"),
    ),
    Case(
        "config-typo",
        *one("configs:\n  nginx: {content: x}\n" + web("configs: [ngin]\n"), 6, "no config 'ngin'", "did you mean 'nginx'"),
    ),
    Case("config-two-sources", *one("configs:\n  app: {content: x, file: state.yaml}\n", 2, "configs.app", "exactly one of")),
    Case("config-no-source", *one("configs:\n  app: {}\n", 2, "configs.app", "missing required key 'content' (or give file:")),
    Case(
        "config-unset-variable",
        *one("configs:\n  app: {content: 'n = ${N}'}\n", 2, "configs.app.content", "N is not set"),
    ),
    Case(
        "config-read-only",
        *one("configs:\n  app: {content: x}\n" + web("read_only: true\nconfigs: [app]\n"), 7, "read_only container"),
    ),
    Case("config-no-file", *one("configs:\n  app: {file: missing.conf}\n", 2, "configs.app.file", "no file 'missing.conf'")),
    Case(
        "config-outside",
        *one("configs:\n  app: {file: /etc/passwd}\n", 2, "configs.app.file", "outside the repository"),
    ),
    Case(
        "config-mode",
        *one("configs:\n  app: {content: x}\n" + web("configs: [{source: app, mode: rw}]\n"), 6, "mode must be octal"),
    ),
    Case(
        "config-environment-unset",
        *one("configs:\n  app: {environment: APP_CONF}\n", 2, "configs.app.environment: APP_CONF is not set"),
    ),
    Case(
        "config-environment-secret",
        *one(
            "configs:\n  app: {environment: APP_TOKEN}\n",
            2,
            "configs.app",
            "declare it under the top-level secrets:",
            environ={"APP_TOKEN": "x"},
        ),
    ),
    # --- secrets ---
    Case(
        "secret-undeclared",
        *one(web("secrets: [db]\n"), 4, "containers.web.secrets[0]", "no secret 'db'", "top-level secrets:"),
    ),
    Case(
        "secret-two-sources",
        *one("secrets:\n  db: {environment: X, file: state.yaml}\n", 2, "secrets.db", "exactly one of", environ={"X": "x"}),
    ),
    Case("secret-content", *one("secrets:\n  db: {content: x}\n", 2, "secrets.db.content", "content")),
    Case("secret-unset", *one("secrets:\n  db: {environment: DB_PASSWORD}\n", 2, "secrets.db.environment: DB_PASSWORD")),
    Case(
        "secret-ci-variable",
        *one("secrets:\n  db: {environment: AWS_SECRET_ACCESS_KEY}\n", 2, "secrets.db", "the CI's own"),
    ),
    Case(
        "secret-outside",
        *one("secrets:\n  db: {file: ../../../etc/shadow}\n", 2, "secrets.db.file", "outside the repository"),
    ),
    Case("secret-region", *one("secrets:\n  db: {aws_ssm: /prod/db}\n", 2, "secrets.db.aws_ssm", "which region?")),
    Case(
        "secret-target-escape",
        *one(
            "secrets:\n  db: {environment: X}\n" + web("secrets: [{source: db, target: ../etc/passwd}]\n"),
            6,
            "target",
            environ={"X": "x"},
        ),
    ),
    Case(
        "secret-read-only",
        *one(
            "secrets:\n  db: {environment: X}\n" + web("read_only: true\nsecrets: [db]\n"),
            7,
            "read_only container",
            environ={"X": "x"},
        ),
    ),
    Case(
        "secret-external",
        *one("secrets:\n  db: {external: true}\n", 2, "secrets.db.external", "not supported"),
    ),
]


def load_errors(tmp_path: Path, case: Case) -> list[str]:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_state(tmp_path, environ=case.environ)
    prefix = f"{tmp_path}/"
    return [str(d).removeprefix(prefix) for d in caught.value.diagnostics]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_mistake_one_located_error(tmp_path: Path, case: Case) -> None:
    errors = load_errors(tmp_path, case)
    assert len(errors) == 1, "\n".join(errors)
    assert errors[0].startswith(case.where + ":"), errors[0]
    for words in case.says:
        assert words in errors[0], errors[0]


def test_every_mistake_is_reported_at_once_sorted_by_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("containers:\n  web:\n    image: app:1\n    state: runing\n    restart: sometimes\n")
    (tmp_path / "a.yaml").write_text("policies:\n  require_healthchecks: true\nsettings:\n  policy_mode: strict\n")
    errors = load_errors(tmp_path, Case("many", {}, "", []))
    assert [e.split(": ")[0] for e in errors] == ["a.yaml:2:3", "a.yaml:4:16", "b.yaml:4:12", "b.yaml:5:14"]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_every_dependency_cycle_is_reported_once_from_its_first_declared_member(tmp_path: Path) -> None:
    def container(name: str, *needs: str) -> str:
        return f"  {name}:\n    image: x:1\n    depends_on: [{', '.join(needs)}]\n"

    text = (
        "containers:\n"
        + container("a", "b")
        + container("b", "c")
        + container("c", "a")
        + container("d", "e")
        + container("e", "d")
    )
    errors = load_errors(tmp_path, Case("cycles", {"state.yaml": text}, "", []))
    assert [e.partition(": ")[2] for e in errors] == [
        "containers.a.depends_on: dependency cycle: a → b → c → a",
        "containers.d.depends_on: dependency cycle: d → e → d",
    ]
