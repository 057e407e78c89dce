"""The state read through libyaml: every value and its FILE:LINE:COL as ruamel's own parser gives
them, YAML 1.2 typing, anchors and merge keys, the guards, and many files merged into one state."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.errors import ConfigError
from reconciler.model.load import load_state
from reconciler.model.source import (
    MAX_FILE_BYTES,
    MAX_NODES,
    Document,
    LeadingZero,
    events,
    parse_document,
    pure_events,
    read_document,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "desired_state"


def walk(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += walk(item, (*path, index))
    return found


def located(document: Document) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    return {path: (document.source.keys.get(path), document.source.values.get(path)) for path in walk(document.data)}


def same_reading(text: str) -> None:
    fast = parse_document(text, "x.yaml", parse=events)
    reference = parse_document(text, "x.yaml", parse=pure_events)
    assert fast.problems == reference.problems
    assert fast.data == reference.data
    assert located(fast) == located(reference)


def test_the_example_reads_the_same_through_libyaml_and_ruamel() -> None:
    for file in sorted(EXAMPLE.rglob("*.yaml")):
        same_reading(file.read_text(encoding="utf-8"))


keys = st.text("abcdefgé_-", min_size=1, max_size=6)
scalars = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.text("abc :/-é0", max_size=8).filter(lambda text: not text.startswith(":")),
    st.floats(allow_nan=False),
)
values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=25
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.dictionaries(keys, values, min_size=1, max_size=5), flow=st.booleans())
def test_any_document_reads_the_same_through_libyaml_and_ruamel(document: dict[str, Any], flow: bool) -> None:
    """Block and flow style: the same data, and every key and value at the same line and column.
    (Text never starts with ':': in a flow list libyaml refuses `[:0]`, which YAML 1.2 allows.)"""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    stream = io.StringIO()
    yaml.dump(document, stream)
    same_reading(stream.getvalue())


PLAIN = ["1", "-1", "017", "0o17", "0x1F", "0b101", "1_000", "1.5", "1e3", "-.inf", "~", "null", "", "true", "FALSE",
         "yes", "on", "n", "2027-01-31T00:00:00Z", "1:30", "a b", "é"]  # fmt: skip


@pytest.mark.parametrize("text", PLAIN)
def test_plain_scalars_are_typed_as_ruamels_round_trip_loader_types_them(text: str) -> None:
    expected = YAML(typ="rt").load(f"k: {text}\n")["k"]
    if type(expected).__name__ == "TimeStamp" or hasattr(expected, "isoformat"):
        expected = text  # the reconciler reads timestamps as text
    read = parse_document(f"k: {text}\n", "x.yaml").data["k"]
    assert read == expected or (read != read and expected != expected)
    assert type(read) in (type(None), bool, int, float, str, LeadingZero)  # LeadingZero: an int that keeps its text


def test_yaml_1_1_documents_keep_their_booleans() -> None:
    assert parse_document("%YAML 1.1\n---\nk: yes\nm: 017\n", "x.yaml").data == {"k": True, "m": 15}


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def errors(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_state(directory, environ={})
    return [str(d) for d in caught.value.diagnostics]


def test_errors_are_located_in_flow_and_block_style_and_columns_count_characters(tmp_path: Path) -> None:
    display = write(
        tmp_path,
        "state.yaml",
        "containers:\n  web: {labels: {x: é}, restrat: no, image: app:1}\n  api:\n    image: api:1\n    ports:\n      - 80:80\n      - [1]\n",
    )
    first, second = errors(tmp_path)
    assert first == f"{display}:2:25: containers.web.restrat: unknown key 'restrat' (did you mean 'restart'?)"
    assert second.startswith(f"{display}:7:9: containers.api.ports[1]: ")


def test_merge_keys_and_aliases_load_and_errors_point_where_the_value_is_written(tmp_path: Path) -> None:
    display = write(
        tmp_path,
        "state.yaml",
        "containers:\n"
        "  web: &base\n"
        "    image: app:1\n"
        "    healthcheck: &hc {test: [CMD, 'true'], interval: 10s}\n"
        "    labels: {team: ops}\n"
        "  api:\n"
        "    <<: *base\n"
        "    image: api:1\n"
        "  worker:\n"
        "    <<: [{restart: always}, *base]\n"
        "    healthcheck: *hc\n",
    )
    loaded = load_state(tmp_path, environ={})
    api, worker = loaded.state.containers["api"], loaded.state.containers["worker"]
    assert api.image == "api:1"  # written here: wins over the merged one
    assert api.labels == {"team": "ops"}
    assert worker.image == "app:1" and worker.restart == "always"
    assert worker.healthcheck == loaded.state.containers["web"].healthcheck
    (tmp_path / "state.yaml").write_text(Path(display).read_text().replace("interval: 10s", "interval: soon"))
    assert all(line.startswith(f"{display}:4:") for line in errors(tmp_path))  # web, api and worker: all at the anchor


def test_merge_bombs_are_refused(tmp_path: Path) -> None:
    lines = ["settings:", "  l0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}"]
    for level in range(1, 12):
        merged = ", ".join(f"*l{level - 1}" for _ in range(1))
        lines.append(f"  l{level}: &l{level} {{<<: [{merged}], x: [" + ", ".join([f"*l{level - 1}"] * 10) + "]}")
    display = write(tmp_path, "state.yaml", "\n".join(lines) + "\n")
    (message,) = errors(tmp_path)
    assert message.startswith(display) and f"more than {MAX_NODES} values" in message


def container(index: int) -> str:
    return (
        f"  svc{index:05d}:\n    image: registry.example.com/team/app:{index}\n"
        f"    command: [serve, --port, '{8000 + index % 1000}']\n    environment: {{LOG_LEVEL: info, WORKERS: '4'}}\n"
        f"    ports: ['127.0.0.1:{10000 + index}:8080']\n    volumes: ['svc{index}-data:/data', '/etc/ssl:/etc/ssl:ro']\n"
        "    restart: unless-stopped\n    healthcheck:\n      test: [CMD-SHELL, 'wget -q --spider http://localhost:8080/ || exit 1']\n"
        "      interval: 30s\n      timeout: 10s\n      retries: 3\n"
        "    logging: {driver: json-file, options: {max-size: 10m, max-file: '3'}}\n    labels: {team: ops, tier: web}\n"
        "    mem_limit: 512MB\n    cpus: 0.5\n    init: true\n    stop_grace_period: 10s\n"
    )


def test_ten_thousand_containers_in_one_file_are_under_every_cap(tmp_path: Path) -> None:
    """The caps are for hostile files: a real state of 10,000 containers, even in one file, loads."""
    text = "containers:\n" + "".join(container(i) for i in range(10_000))
    assert 1 << 20 < len(text.encode()) < MAX_FILE_BYTES
    read = read_document(Path(write(tmp_path, "state.yaml", text)), "state.yaml")
    assert read.problems == []
    assert len(read.data["containers"]) == 10_000


def test_many_files_merge_into_one_state_and_each_error_names_its_own_file(tmp_path: Path) -> None:
    displays = [
        write(
            tmp_path, f"part-{part:02d}/containers.yaml", "containers:\n" + "".join(container(part * 20 + i) for i in range(20))
        )
        for part in range(30)
    ]
    write(tmp_path, "settings.yaml", "settings: {policy_mode: warn}\ncost_docs: [{path: docs/a.md}]\n")
    write(tmp_path, "zz.yaml", "settings: {parallelism: 4}\ncost_docs: [{path: docs/b.md}]\n")
    loaded = load_state(tmp_path, environ={})
    assert len(loaded.state.containers) == 600
    assert (loaded.state.settings.policy_mode, loaded.state.settings.parallelism) == ("warn", 4)
    assert [doc.path for doc in loaded.state.cost_docs] == ["docs/a.md", "docs/b.md"]
    for part in (0, 17, 29):
        path = Path(displays[part])
        path.write_text(path.read_text().replace("restart: unless-stopped", "restart: sometimes", 1))
    (tmp_path / "zz.yaml").write_text("settings: {parallelism: 4}\ncost_docs: [{path: docs/b.md, mode: sometimes}]\n")
    found = errors(tmp_path)
    assert [line.split(":")[:3] for line in found] == [
        [displays[0], "8", "14"],
        [displays[17], "8", "14"],
        [displays[29], "8", "14"],
        [str(tmp_path / "zz.yaml"), "2", "37"],
    ]
    assert "cost_docs[1].mode" in found[-1]


def test_the_same_name_in_two_files_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "containers:\n" + container(7))
    second = write(tmp_path, "b.yaml", "containers:\n  other: {image: x:1}\n" + container(7))
    assert errors(tmp_path) == [f"{second}:3:3: containers.svc00007 is declared twice: here and at {first}:2"]


def test_merging_a_file_never_changes_what_an_alias_shares_in_another(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "prices:\n  ec2:\n    us-east-1: &region {c7i.8xlarge: {on-demand: 1.36}}\n    us-west-2: *region\n",
    )
    write(tmp_path, "b.yaml", "prices:\n  ec2:\n    us-east-1: {t3.micro: {on-demand: 0.0104}}\n")
    ec2 = load_state(tmp_path, environ={}).state.prices.ec2
    assert set(ec2["us-east-1"]) == {"c7i.8xlarge", "t3.micro"}
    assert set(ec2["us-west-2"]) == {"c7i.8xlarge"}


def test_a_refused_character_is_located_on_its_line_and_column(tmp_path: Path) -> None:
    display = write(tmp_path, "state.yaml", "version: 1\nsettings:\n  lock: é\x07b\n")
    (message,) = errors(tmp_path)
    assert message.startswith(f"{display}:3:10: YAML syntax error: unacceptable character #x0007")
