"""Properties of load_state on arbitrary input: it returns a LoadedState or raises a ConfigError
whose every diagnostic names a file it read, a line and column from 1, and a message; nothing
else escapes. And a value taken from the environment never shows up in any of it."""

from __future__ import annotations

import copy
import io
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, example, given, note, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor

from reconciler.errors import ConfigError
from reconciler.model.interpolate import secrets_declared
from reconciler.model.load import LoadedState, load_state
from reconciler.model.spec import (
    PRUNE_KINDS,
    SECTIONS,
    Aws,
    Container,
    CostDoc,
    DiskBudget,
    Ec2Instance,
    Ec2Price,
    Healthcheck,
    Host,
    LifecycleRule,
    Logging,
    Policies,
    Prices,
    S3Bucket,
    S3Price,
    Settings,
    State,
    Tls,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "desired_state"
UNSET = "RECONCILER_PROPERTY_TEST_UNSET"
EXAMPLE_ENVIRON = {"REDIS_PASSWORD": "Zq0123456789abcdef"}

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the property shared by every test ---------------------------------------------------------


def load_or_diagnose(directory: Path, displays: set[str], environ: Mapping[str, str]) -> LoadedState | ConfigError | None:
    """load_state's outcome, after checking the property every outcome must have."""
    try:
        return load_state(directory, environ=environ)
    except ConfigError as raised:
        error = raised
    note("\n".join(map(str, error.diagnostics)))
    assert error.diagnostics, "a ConfigError without diagnostics"
    for diagnostic in error.diagnostics:
        assert diagnostic.file in displays, f"{diagnostic} names no file that was read ({sorted(displays)})"
        assert isinstance(diagnostic.line, int)
        assert diagnostic.line >= 1, str(diagnostic)
        assert isinstance(diagnostic.col, int)
        assert diagnostic.col >= 1, str(diagnostic)
        assert isinstance(diagnostic.message, str)
        assert diagnostic.message.strip(), f"empty message at {diagnostic.file}:{diagnostic.line}"
    return error


def write_files(directory: Path, files: Mapping[str, bytes]) -> set[str]:
    """Write ``files`` (relative path → bytes); returns the display paths load_state uses."""
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return {str(directory / relative) for relative in files}


# --- (a) random YAML text -------------------------------------------------------------------------

YAML_ALPHABET = "abcxyz_019 :-[]{}&*!#|>'\"\n\t,?%@`~.$\\/=+<é€\u00a0"
TOKENS = [
    "${", "$", "$$", "}", "${REDIS_PASSWORD}", "${X:-default}", "${X:?why}", "${X-}", "${1}", "${ X }",
    "\n", "\n  ", "\n    ", "\n      ", "- ", ": ", ", ", "? ", "&a ", "*a", "&b ", "*b", "<<: ", "<<: *a",
    "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!binary ", "!!timestamp ", "!!omap ", "!!set ", "!!map ",
    "!!seq ", "!!python/object/apply:os.system ", "!!python/name:os.system ", "!custom ", "!<tag:x> ", "! ",
    "---\n", "...\n", "%YAML 1.1\n---\n", "%YAML 1.2\n---\n", "%TAG !e! tag:e,2000:\n---\n", "'", '"', "''", "|\n", ">-\n",
    "# c", " #", "0x", "0x1F", "0o17", "0b1", "1_000", "1e3", "-.inf", ".nan", "~", "null", "true", "yes", "on", "1:30",
    "2027-01-31T00:00:00Z", "2020-01-01", "version", "settings", "containers", "hosts", "image", "healthcheck",
    "test", "ports", "depends_on", "restart", "environment", "ec2_instances", "instance_type", "s3_buckets",
    "lifecycle", "prune", "web", "vps", "on-demand", "\ufeff", "\x00", "\x07", "\x85", "\u2028", "\r\n", "\r",
]  # fmt: skip
PREFIXES = [
    "",
    "version: 1\n",
    "containers:\n  web:\n    image: ",
    "containers:\n  web:\n    image: app:1\n    ",
    "containers:\n  web: {image: app:1, ",
    "hosts:\n  vps:\n    docker: ",
    "ec2_instances:\n  w:\n    instance_type: t3.micro\n    ami: ami-0123456789abcdef0\n    region: ",
    "s3_buckets:\n  b:\n    region: us-east-1\n    lifecycle:\n      - ",
    "disk_budgets:\n  root:\n    max_used_percent: 80\n    prune:\n      - ",
]

yaml_noise = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(YAML_ALPHABET, max_size=6)), max_size=40).map("".join)
yaml_texts = st.one_of(
    st.text(YAML_ALPHABET, max_size=200),
    yaml_noise,
    st.builds(str.__add__, st.sampled_from(PREFIXES), yaml_noise),
)


@settings(PROPERTY, max_examples=600)
@given(text=yaml_texts)
@example(text="")
@example(text="version: 1\n")
@example(text="a: &a [*a]\n")
@example(text="[" * 100)
@example(text="- " * 100 + "x")
@example(text="version: 0x_\n")  # the known ruamel crash, so that its tolerance is always exercised
def test_random_yaml_text_loads_or_fails_with_located_diagnostics(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        displays = write_files(directory, {"x.yaml": text.encode("utf-8")})
        assert displays == {str(directory / "x.yaml")}
        load_or_diagnose(directory, displays, environ=EXAMPLE_ENVIRON)


# --- (b) random structured documents --------------------------------------------------------------

FIELD_NAMES = [
    "image", "healthcheck", "test", "interval", "timeout", "retries", "start_period", "disable", "ports", "volumes",
    "depends_on", "restart", "environment", "command", "entrypoint", "labels", "logging", "driver", "options",
    "network_mode", "host", "docker", "tls", "ca", "cert", "key", "identity_file", "monthly_cost", "init", "state",
    "user", "mem_limit", "cpus", "stop_signal", "stop_grace_period", "on_unhealthy", "path", "max_used_percent",
    "build_cache_max", "prune", "older_than", "region", "instance_type", "ami", "market", "spot_fallback", "hours",
    "expires_at", "root_volume_gb", "user_data_file", "tags", "protect", "versioning", "encryption", "kms_key_id",
    "lifecycle", "id", "prefix", "expire_days", "transition_days", "storage_class", "expected_gb", "ec2", "s3",
    "on-demand", "spot", "standard_gb_month", "mode", "policy_mode", "parallelism", "lock", "require_healthcheck",
    "max_monthly_usd", "web", "redis", "vps", "local", "us-east-1", "t3.micro", "build_cache", "unused_images", "<<",
]  # fmt: skip
INTERESTING_STRINGS = [
    "", " ", "app:1", "10s", "1m30s", "30", "512MB", "1GB", "unless-stopped", "on-failure:3", "always", "host", "bridge",
    "container:web", "CMD", "CMD-SHELL", "NONE", "80:80", "127.0.0.1:8080:80/tcp", "data:/data", "/srv:/srv:ro", "web",
    "vps", "local", "us-east-1", "ami-0123456789abcdef0", "t3.micro", "c7i.8xlarge", "spot", "on-demand", "fail",
    "STANDARD_IA", "AES256", "aws:kms", "2027-01-31T00:00:00Z", "2027-01-31", "unix:///var/run/docker.sock",
    "tcp://h:2376", "ssh://root@vps", "s3://bucket/key", "docs/costs.md", "../escape", "build_cache", "enforce", "warn",
    "SIGTERM", "1000:1000", "${REDIS_PASSWORD}", "x${REDIS_PASSWORD}y", f"${{{UNSET}}}", f"${{{UNSET}:-fallback}}",
    f"${{{UNSET}:?needed}}", "${", "${}", "$$", "$$x", "$", "${REDIS_PASSWORD", "${A:-${B}}",
]  # fmt: skip

text_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    text_values,
    st.sampled_from(INTERESTING_STRINGS),
)
keys = st.one_of(
    st.sampled_from(FIELD_NAMES),
    st.sampled_from(SECTIONS),
    text_values,
    st.integers(-3, 3),
    st.none(),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=20,
)
resources = st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=6)
section_values = st.one_of(
    values, st.dictionaries(st.sampled_from(["web", "redis", "vps", "b-1", "w", "us-east-1"]), resources, max_size=3)
)
documents = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(SECTIONS), keys), section_values, max_size=5),
    values,  # the top level is not always a mapping
)
FILE_NAMES = ["a.yaml", "sub/b.yml", "sub/deeper/c.yaml"]


def dump(data: Any) -> bytes:
    stream = io.BytesIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


@settings(PROPERTY, max_examples=150)
@given(documents=st.lists(documents, min_size=1, max_size=len(FILE_NAMES)), environ=st.sampled_from([{}, EXAMPLE_ENVIRON]))
def test_random_structured_documents_load_or_fail_with_located_diagnostics(documents: list[Any], environ: dict[str, str]) -> None:
    files = {name: dump(document) for name, document in zip(FILE_NAMES, documents, strict=False)}
    for name, content in files.items():
        note(f"--- {name}\n{content.decode()}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        displays = write_files(directory, files)
        outcome = load_or_diagnose(directory, displays, environ=environ)
        if isinstance(outcome, LoadedState):
            assert set(outcome.files) == displays


# --- (c) one mutation of the valid example --------------------------------------------------------


class _TextTimestamps(SafeConstructor):
    """Timestamps stay text, as the reconciler reads them, so that they are written back as they were."""


_TextTimestamps.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _read_example() -> dict[str, Any]:
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _TextTimestamps
    files = sorted(p for p in EXAMPLE.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return {p.relative_to(EXAMPLE).as_posix(): yaml.load(p.read_text(encoding="utf-8")) for p in files}


EXAMPLE_DATA = _read_example()
EXAMPLE_FILES = sorted(EXAMPLE_DATA)

ANY = object()
# Where the example's mappings are model fields (not free-form names), and the keys allowed there.
MODEL_AT: list[tuple[tuple[Any, ...], type[BaseModel]]] = [
    ((), State),
    (("settings",), Settings),
    (("policies",), Policies),
    (("aws",), Aws),
    (("prices",), Prices),
    (("hosts", ANY), Host),
    (("hosts", ANY, "tls"), Tls),
    (("containers", ANY), Container),
    (("containers", ANY, "healthcheck"), Healthcheck),
    (("containers", ANY, "logging"), Logging),
    (("disk_budgets", ANY), DiskBudget),
    (("ec2_instances", ANY), Ec2Instance),
    (("s3_buckets", ANY), S3Bucket),
    (("s3_buckets", ANY, "lifecycle", ANY), LifecycleRule),
    (("prices", "ec2", ANY, ANY), Ec2Price),
    (("prices", "s3", ANY), S3Price),
    (("cost_docs", ANY), CostDoc),
]
OTHER_KEYS_AT: list[tuple[tuple[Any, ...], frozenset[str]]] = [
    (("disk_budgets", ANY, "prune", ANY), frozenset(PRUNE_KINDS)),
    (("disk_budgets", ANY, "prune", ANY, ANY), frozenset({"older_than"})),
]


def _matches(pattern: tuple[Any, ...], path: tuple[Any, ...]) -> bool:
    return len(pattern) == len(path) and all(p is ANY or p == q for p, q in zip(pattern, path, strict=True))


def allowed_keys(path: tuple[Any, ...]) -> frozenset[str] | None:
    """The keys the format accepts in the mapping at ``path``; None where any name will do."""
    for pattern, model in MODEL_AT:
        if _matches(pattern, path):
            return frozenset(info.alias or name for name, info in model.model_fields.items())
    for pattern, names in OTHER_KEYS_AT:
        if _matches(pattern, path):
            return names
    return None


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def candidates(files: dict[str, Any], wanted: Any) -> list[tuple[str, tuple[Any, ...]]]:
    found = []
    for name in sorted(files):
        for path, node in walk(files[name]):
            parent = at(files[name], path[:-1]) if path else None
            if wanted(path, node, parent):
                found.append((name, path))
    return found


def _in_mapping(path: tuple[Any, ...], node: Any, parent: Any) -> bool:
    return bool(path) and isinstance(parent, dict)


def _scalar(path: tuple[Any, ...], node: Any, parent: Any) -> bool:
    return bool(path) and not isinstance(node, (dict, list))


def _string(path: tuple[Any, ...], node: Any, parent: Any) -> bool:
    return bool(path) and isinstance(node, str)


def _non_empty_list(path: tuple[Any, ...], node: Any, parent: Any) -> bool:
    return isinstance(node, list) and bool(node)


SECRET_PLACES = [
    ("containers", ANY, "environment", ANY),
    ("containers", ANY, "command", ANY),
    ("containers", ANY, "healthcheck", "test", 1),
]


def _secret_allowed(path: tuple[Any, ...], node: Any, parent: Any) -> bool:
    """A string where the format accepts a value from the environment."""
    return isinstance(node, str) and any(_matches(place, path) for place in SECRET_PLACES)


KEY_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_-"
replacement_values = st.one_of(
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.sampled_from(INTERESTING_STRINGS),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=3),
    st.dictionaries(st.sampled_from(FIELD_NAMES), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
)


class Mutation:
    """What one mutation did, for the assertions that follow it."""

    def __init__(self, kind: str, file: str, path: tuple[Any, ...]) -> None:
        self.kind, self.file, self.path = kind, file, path
        self.renamed_to: str | None = None  # set when a key got a name the format does not accept
        self.injected: str | None = None

    def __repr__(self) -> str:
        return f"Mutation({self.kind}, {self.file}, {self.path}, renamed_to={self.renamed_to!r})"


def _rename(draw: Any, old: str) -> str:
    how = draw(st.sampled_from(["insert", "delete", "swap"] if len(old) > 1 else ["insert"]))
    if how == "insert":
        at_ = draw(st.integers(0, len(old)))
        return old[:at_] + draw(st.sampled_from(KEY_CHARACTERS)) + old[at_:]
    if how == "delete":
        at_ = draw(st.integers(0, len(old) - 1))
        return old[:at_] + old[at_ + 1 :]
    at_ = draw(st.integers(0, len(old) - 2))
    return old[:at_] + old[at_ + 1] + old[at_] + old[at_ + 2 :]


def mutate(draw: Any, files: dict[str, Any], kinds: list[str], secret_reference: str = f"${{{UNSET}}}") -> Mutation:
    """Apply one random mutation of one of ``kinds`` to ``files`` (in place)."""
    kind = draw(st.sampled_from(kinds))
    wanted = {
        "delete-key": _in_mapping,
        "rename-key": _in_mapping,
        "replace-scalar": _scalar,
        "duplicate-item": _non_empty_list,
        "inject-reference": _string,
        "inject-reference-where-allowed": _secret_allowed,
        "replace-with-reference": _scalar,
        "wrap-reference": _scalar,
    }[kind]
    options = candidates(files, wanted)
    assume(options)  # an earlier mutation may have deleted every place this one could act on
    name, path = draw(st.sampled_from(options))
    mutation = Mutation(kind, name, path)
    document = files[name]
    parent = at(document, path[:-1]) if path else None
    if kind == "delete-key":
        del parent[path[-1]]
    elif kind == "rename-key":
        old = path[-1]
        new = _rename(draw, old)
        if new != old and new not in parent:
            items = [((new if key == old else key), value) for key, value in parent.items()]
            parent.clear()
            parent.update(items)
            allowed = allowed_keys(path[:-1])
            if allowed is not None and new not in allowed:
                mutation.renamed_to = new
    elif kind == "replace-scalar":
        parent[path[-1]] = draw(replacement_values)
    elif kind == "duplicate-item":
        items = at(document, path)
        index = draw(st.integers(0, len(items) - 1))
        items.insert(draw(st.integers(0, len(items))), copy.deepcopy(items[index]))
    elif kind in ("inject-reference", "inject-reference-where-allowed"):
        text = parent[path[-1]]
        # never right after a `$`: `$${…}` is the escape for a literal `$`, not a reference
        where = draw(st.sampled_from([i for i in range(len(text) + 1) if i == 0 or text[i - 1] != "$"]))
        parent[path[-1]] = text[:where] + secret_reference + text[where:]
        mutation.injected = secret_reference
    elif kind == "replace-with-reference":
        parent[path[-1]] = secret_reference
    elif kind == "wrap-reference":
        parent[path[-1]] = draw(st.sampled_from([[secret_reference], {"key": secret_reference}, [{"x": secret_reference}]]))
    note(repr(mutation))
    return mutation


EXAMPLE_BYTES = {name: dump(EXAMPLE_DATA[name]) for name in EXAMPLE_FILES}


def write_example(directory: Path, files: dict[str, Any], changed: set[str] | None = None) -> set[str]:
    """Write the example with ``files`` in place of its data; only the ``changed`` ones (default:
    all) are dumped again, the others are the example as first dumped."""
    changed = set(EXAMPLE_FILES) if changed is None else changed
    return write_files(directory, {name: dump(files[name]) if name in changed else EXAMPLE_BYTES[name] for name in EXAMPLE_FILES})


def test_example_round_trips_through_the_dumper() -> None:
    """The baseline for the mutations: the example, read as data and written back, is valid."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        displays = write_example(directory, copy.deepcopy(EXAMPLE_DATA))
        loaded = load_state(directory, environ=EXAMPLE_ENVIRON)
        assert set(loaded.files) == displays
        assert loaded.state == load_state(EXAMPLE, environ=EXAMPLE_ENVIRON).state


MUTATIONS = ["delete-key", "rename-key", "replace-scalar", "duplicate-item", "inject-reference"]


@settings(PROPERTY, max_examples=120)
@given(data=st.data())
def test_one_mutation_of_the_example_loads_or_fails_with_located_diagnostics(data: st.DataObject) -> None:
    files = copy.deepcopy(EXAMPLE_DATA)
    mutation = mutate(data.draw, files, MUTATIONS)
    event(mutation.kind)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        displays = write_example(directory, files, changed={mutation.file})
        outcome = load_or_diagnose(directory, displays, environ=EXAMPLE_ENVIRON)
    if mutation.renamed_to is not None:
        assert isinstance(outcome, ConfigError), f"the unknown key {mutation.renamed_to!r} was accepted"
        assert any(mutation.renamed_to in d.message for d in outcome.diagnostics), (
            f"no message names the unknown key {mutation.renamed_to!r}:\n" + "\n".join(map(str, outcome.diagnostics))
        )
    if mutation.injected is not None:
        assert isinstance(outcome, ConfigError), f"{mutation.injected} with the variable unset was accepted"
        assert any(UNSET in d.message or "variable reference" in d.message for d in outcome.diagnostics)


# --- (d) secrets never leak -----------------------------------------------------------------------

secrets = st.text("0123456789abcdef", min_size=10, max_size=40).map(lambda tail: "Zq" + tail)
SECRET_MUTATIONS = [
    *MUTATIONS,
    "replace-with-reference",
    "wrap-reference",
    "inject-reference-where-allowed",
    "inject-reference-where-allowed",  # twice as likely: most other mutations make the state invalid
]


@settings(PROPERTY, max_examples=100)
@given(data=st.data(), secret=secrets, count=st.integers(1, 3))
def test_a_secret_from_the_environment_never_leaks(data: st.DataObject, secret: str, count: int) -> None:
    files = copy.deepcopy(EXAMPLE_DATA)
    reference = data.draw(
        st.sampled_from(["${REDIS_PASSWORD}", "${REDIS_PASSWORD:-x}", "${REDIS_PASSWORD:?unset}", "${REDIS_PASSWORD-x}"])
    )
    changed = set()
    for _ in range(count):
        mutation = mutate(data.draw, files, SECRET_MUTATIONS, secret_reference=reference)
        changed.add(mutation.file)
        event(mutation.kind)
    # A mutation that removes REDIS_PASSWORD from settings.secrets makes it a plain variable, whose
    # value is shown by design; one that makes settings.secrets unreadable keeps every variable secret.
    assume(any("REDIS_PASSWORD" in secrets_declared(document) for document in files.values() if isinstance(document, dict)))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        displays = write_example(directory, files, changed)
        outcome = load_or_diagnose(directory, displays, environ={"REDIS_PASSWORD": secret})
    if isinstance(outcome, ConfigError):
        event("invalid")
        for diagnostic in outcome.diagnostics:
            assert secret not in str(diagnostic), f"the secret leaked: {diagnostic}"
        assert secret not in str(outcome)
    elif isinstance(outcome, LoadedState):
        event("valid")
        assert secret not in repr(outcome.state)
        assert secret not in str(outcome.state)
        assert secret not in outcome.state.model_dump_json()


@pytest.mark.parametrize("reference", ["${REDIS_PASSWORD}", "prefix-${REDIS_PASSWORD}-suffix"])
def test_the_example_secret_is_redacted_when_valid(reference: str) -> None:
    """The deterministic core of the property above: the example itself, valid, with its secret."""
    secret = "Zq" + "0123456789abcdef" * 2
    files = copy.deepcopy(EXAMPLE_DATA)
    files["vps/containers.yaml"]["containers"]["quantum_redis_exporter"]["environment"]["REDIS_PASSWORD"] = reference
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_example(directory, files)
        loaded = load_state(directory, environ={"REDIS_PASSWORD": secret})
    for shown in (repr(loaded.state), str(loaded.state), loaded.state.model_dump_json()):
        assert secret not in shown
        assert "(sensitive)" in shown


def test_unknown_prune_option_is_named() -> None:
    """The one renamed key the mutation property leaves out (see OTHER_KEYS_AT)."""
    files = copy.deepcopy(EXAMPLE_DATA)
    step = files["vps/host.yaml"]["disk_budgets"]["vps-root"]["prune"][2]
    step["unused_images"] = {"older_thn": step["unused_images"]["older_than"]}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_example(directory, files, changed={"vps/host.yaml"})
        with pytest.raises(ConfigError) as caught:
            load_state(directory, environ=EXAMPLE_ENVIRON)
    assert any("older_thn" in d.message for d in caught.value.diagnostics), caught.value.diagnostics
