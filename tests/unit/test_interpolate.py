"""Compose's interpolation grammar, DIR/.env, and what a variable without a value means at
validate, plan and apply (model/interpolate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.errors import ConfigError
from reconciler.model.interpolate import (
    Required,
    TemplateError,
    Variables,
    interpolate,
    read_env_file,
    split_assignment,
)
from reconciler.model.load import load_state
from reconciler.model.sensitive import Sensitive
from reconciler.model.unknown import KNOWN_AT_APPLY, Unknown

VALUES = {"SET": "value", "EMPTY": "", "FALLBACK": "fallback", "PW": "hunter2"}


def at(mode: str, secrets: frozenset[str] = frozenset()) -> Variables:
    return Variables(VALUES, secrets, mode)  # type: ignore[arg-type]


# Compose's table (docs.docker.com/reference/compose-file/interpolation): SET, EMPTY set to "",
# UNSET unset. The same at apply as at plan for plain variables whose value decides.
COMPOSE = [
    ("$SET", "value"),
    ("${SET}", "value"),
    ("${EMPTY}", ""),
    ("${SET:-d}", "value"),
    ("${EMPTY:-d}", "d"),
    ("${UNSET:-d}", "d"),
    ("${SET-d}", "value"),
    ("${EMPTY-d}", ""),
    ("${UNSET-d}", "d"),
    ("${SET:?e}", "value"),
    ("${EMPTY?e}", ""),
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${UNSET:+alt}", ""),
    ("${SET+alt}", "alt"),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${UNSET:-${FALLBACK}}", "fallback"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("${SET:-${UNSET}}", "value"),  # an operand that is not used is not needed
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("a$$$SET", "a$value"),
    ("${UNSET:-$$}", "$"),
    ("cost $5", "cost $5"),  # a $ that starts no reference stays (Compose)
    ("trailing $", "trailing $"),
    ("$SET.suffix and ${SET}_x", "value.suffix and value_x"),
    ("${SET:-a}}", "value}"),
    ("no dollar at all", "no dollar at all"),
]


@pytest.mark.parametrize(("template", "expected"), COMPOSE)
@pytest.mark.parametrize("mode", ["plan", "apply"])
def test_compose_semantics(template: str, expected: str, mode: str) -> None:
    assert interpolate(template, at(mode)).value == expected


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("${", "unterminated ${"),
        ("x ${SET", "unterminated ${"),
        ("${}", "invalid variable reference ${}"),
        ("${1X}", "invalid variable reference ${1X}"),
        ("${SET/a/b}", "unsupported variable reference ${SET/a/b}"),
        ("${SET:=x}", "unsupported"),
        ("${UNSET:-${}", "unterminated"),
        ("${UNSET:-${1}}", "invalid variable reference ${1}"),
    ],
)
def test_bad_syntax_says_what_is_wrong(template: str, says: str) -> None:
    with pytest.raises(TemplateError, match=None) as raised:
        interpolate(template, at("apply"))
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("${UNSET}", "UNSET is not set"),
        ("$UNSET", "UNSET is not set"),
        ("${UNSET:?ask ops}", "UNSET is not set: ask ops"),
        ("${EMPTY:?ask ops}", "EMPTY is empty: ask ops"),
        ("${UNSET?why ${SET}}", "UNSET is not set: why value"),
    ],
)
def test_at_apply_a_variable_without_a_value_is_an_error(template: str, says: str) -> None:
    with pytest.raises(Required) as raised:
        interpolate(template, at("apply"))
    assert str(raised.value) == says


def test_at_plan_a_bare_reference_without_a_value_is_known_at_apply() -> None:
    value = interpolate("--password=${UNSET}x", at("plan")).value
    assert isinstance(value, Unknown) and value.variables == ("UNSET",) and str(value) == KNOWN_AT_APPLY
    with pytest.raises(Required):  # a plain variable's :? is the user's "plan needs this"
        interpolate("${UNSET:?needed}", at("plan"))


def test_a_secret_without_a_value_is_known_at_apply_whatever_its_operator() -> None:
    secrets = frozenset({"TOKEN"})
    for template in ("${TOKEN}", "${TOKEN:-dev}", "${TOKEN-dev}", "${TOKEN:?set it}", "${TOKEN:+yes}", "${TOKEN+yes}"):
        value = interpolate(template, at("plan", secrets)).value
        assert isinstance(value, Unknown) and value.secret, template
    assert interpolate("${TOKEN:-dev}", at("apply", secrets)).value == Sensitive("dev")  # apply: compose's meaning


def test_only_declared_secrets_are_sensitive() -> None:
    secret = interpolate("p=${PW}", at("apply", frozenset({"PW"}))).value
    assert isinstance(secret, Sensitive) and secret.reveal() == "p=hunter2"
    assert str(secret) == "(sensitive)" and "hunter2" not in repr(secret)
    assert interpolate("p=${PW}", at("apply")).value == "p=hunter2"
    unused = interpolate("${SET:-${PW}}", at("apply", frozenset({"PW"}))).value  # the secret is never read
    assert unused == "value"


def test_validate_warns_for_a_required_variable() -> None:
    done = interpolate("${UNSET:?ask ops}", at("validate"))
    assert isinstance(done.value, Unknown) and done.warnings == ("UNSET is not set: ask ops",)


def test_a_required_message_never_quotes_a_secret() -> None:
    with pytest.raises(Required) as raised:
        interpolate("${UNSET:?not ${PW}}", at("apply", frozenset({"PW"})))
    assert "hunter2" not in str(raised.value)


def test_key_value_items_split_at_the_clear_key() -> None:
    secret = interpolate("PASSWORD=${PW}", at("apply", frozenset({"PW"}))).value
    assert isinstance(secret, Sensitive)
    key, value = split_assignment(secret) or ("", "")
    assert key == "PASSWORD" and isinstance(value, Sensitive) and value.reveal() == "hunter2"
    unknown = interpolate("PASSWORD=${UNSET}", at("plan")).value
    assert isinstance(unknown, Unknown)
    assert split_assignment(unknown) == ("PASSWORD", Unknown(("UNSET",)))
    assert split_assignment(interpolate("${PW}", at("apply", frozenset({"PW"}))).value) is None  # the key is secret


names = st.from_regex(r"[_A-Za-z][_A-Za-z0-9]{0,8}", fullmatch=True)


@given(st.text())
def test_escaping_every_dollar_gives_the_text_back(text: str) -> None:
    assert interpolate(text.replace("$", "$$"), at("apply")).value == text


@given(names, st.text())
def test_a_value_is_inserted_as_is_never_interpolated_again(name: str, value: str) -> None:
    variables = Variables({name: value}, frozenset(), "apply")
    assert interpolate(f"<${{{name}}}>", variables).value == f"<{value}>"
    assert interpolate(f"<${name}>", variables).value == f"<{value}>"


@given(names, st.one_of(st.none(), st.just(""), st.text(min_size=1)), st.text(alphabet=st.characters(exclude_characters="${}")))
def test_operators_follow_the_shell(name: str, value: str | None, operand: str) -> None:
    values = {} if value is None else {name: value}
    variables = Variables(values, frozenset(), "apply")
    unset_or_empty = not value

    def result(op: str) -> object:
        return interpolate(f"${{{name}{op}{operand}}}", variables).value

    assert result(":-") == (operand if unset_or_empty else value)
    assert result("-") == (operand if value is None else value)
    assert result(":+") == ("" if unset_or_empty else operand)
    assert result("+") == ("" if value is None else operand)


@given(st.text(alphabet="${}:-?+_AZaz09 ", max_size=30))
def test_any_text_interpolates_or_fails_with_a_message(text: str) -> None:
    message = None
    try:
        interpolate(text, Variables({"A": "1", "Z": ""}, frozenset({"Z"}), "plan"))
    except (TemplateError, Required) as error:  # never another exception
        message = str(error)
    assert message is None or message


# --- .env ----------------------------------------------------------------------------------------


def test_the_env_file_reads_as_compose_reads_it(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# a comment\n"
        "TAG=1.2\n"
        "export REGISTRY=registry.example.com\n"
        'IMAGE="${REGISTRY}/app:${TAG}"  # a comment after a value\n'
        "LITERAL='${TAG} stays'\n"
        "PLAIN=a b # comment\n"
        "EMPTY=\n"
        "FROM_SHELL=file\n"
        "\n"
    )
    values, problems = read_env_file(env, "state/.env", {"FROM_SHELL": "shell"})
    assert problems == []
    assert values["TAG"] == "1.2"
    assert values["REGISTRY"] == "registry.example.com"
    assert values["IMAGE"] == "registry.example.com/app:1.2"
    assert values["LITERAL"] == "${TAG} stays"
    assert values["PLAIN"] == "a b"
    assert values["EMPTY"] == ""


def test_a_bad_env_line_is_located(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\nnot a line\nB=${A\n")
    _, problems = read_env_file(env, "state/.env", {})
    assert [str(p) for p in problems] == [
        "state/.env:2:1: expected KEY=VALUE (or a # comment)",
        "state/.env:3:1: B: unterminated ${ in '${A': close it with }, or write $$ for a literal $",
    ]


def test_the_process_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=from-file\nPORT=8080\n")
    (tmp_path / "state.yaml").write_text("containers:\n  web:\n    image: app:${TAG}\n    ports: ['${PORT}:80']\n")
    loaded = load_state(tmp_path, environ={"TAG": "from-shell"})
    assert loaded.state.containers["web"].image == "app:from-shell"
    assert [str(port) for port in loaded.state.containers["web"].ports] == ["8080:80"]
    assert tmp_path / ".env" in loaded.paths  # the saved plan's digest covers it


# --- every value, the three modes ---------------------------------------------------------------------

COMPOSE_SERVICE = """\
settings: {secrets: [DB_PASSWORD]}
containers:
  web:
    image: ${REGISTRY:-docker.io}/app:${TAG:-latest}
    ports: ["${BIND:-127.0.0.1}:${PORT:-8080}:80"]
    volumes: ["${DATA_DIR:-/srv/data}:/data:ro"]
    labels: {team: $TEAM}
    healthcheck: {test: [CMD, /bin/check], interval: "${CHECK_EVERY:-30s}"}
    mem_limit: ${MEMORY:-512MB}
    environment:
      - DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app
      - MODE=$MODE
    command: [serve, --workers, "${WORKERS:-2}"]
"""


def test_every_value_interpolates_and_only_secrets_are_sensitive(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(COMPOSE_SERVICE)
    environ = {"TAG": "1.4", "TEAM": "ops", "MODE": "fast", "DB_PASSWORD": "hunter2", "CHECK_EVERY": "1m"}
    web = load_state(tmp_path, environ=environ).state.containers["web"]
    assert web.image == "docker.io/app:1.4"
    assert [str(port) for port in web.ports] == ["127.0.0.1:8080:80"]
    assert [str(volume) for volume in web.volumes] == ["/srv/data:/data:ro"]
    assert web.labels == {"team": "ops"}
    assert web.healthcheck is not None and web.healthcheck.interval is not None
    assert web.healthcheck.interval.total_seconds() == 60
    assert web.mem_limit == 512 * 1024**2
    assert web.environment["MODE"] == "fast"
    url = web.environment["DATABASE_URL"]
    assert isinstance(url, Sensitive) and url.reveal() == "postgres://app:hunter2@db/app"
    assert web.command == ("serve", "--workers", "2")
    assert "hunter2" not in web.model_dump_json()


def errors(tmp_path: Path, environ: dict[str, str], mode: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_state(tmp_path, environ=environ, mode=mode)  # type: ignore[arg-type]
    return [str(d).removeprefix(f"{tmp_path}/") for d in raised.value.diagnostics]


def test_validate_needs_no_value_and_warns_at_each_place(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(COMPOSE_SERVICE)
    loaded = load_state(tmp_path, environ={}, mode="validate")
    warnings = [str(w).removeprefix(f"{tmp_path}/") for w in loaded.warnings]
    assert warnings == [
        "state.yaml:7:20: warning: containers.web.labels.team: TEAM is not set: not checked; plan needs it",
        "state.yaml:11:9: warning: containers.web.environment[0]: DB_PASSWORD is not set: plan shows (known at apply)",
        "state.yaml:12:9: warning: containers.web.environment[1]: MODE is not set: plan shows (known at apply)",
    ]


def test_validate_without_a_required_value_still_checks_the_rest(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text("containers:\n  web:\n    image: ${IMAGE}\n    restart: sometimes\n")
    assert errors(tmp_path, {}, "validate") == [
        "state.yaml:4:14: containers.web.restart: invalid restart policy 'sometimes': "
        "expected no, always, unless-stopped or on-failure[:N]"
    ]
    (tmp_path / "state.yaml").write_text("containers:\n  web:\n    image: ${IMAGE}\n")
    assert load_state(tmp_path, environ={}, mode="validate").warnings


def test_plan_leaves_a_containers_values_to_apply_and_needs_the_rest(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(COMPOSE_SERVICE)
    assert errors(tmp_path, {}, "plan") == [
        "state.yaml:7:20: containers.web.labels.team: TEAM is not set, and plan needs this value (only a container's "
        "environment, command, entrypoint and healthcheck.test may wait until apply): set it in the environment or in "
        f"{tmp_path}/.env, or give a default: ${{TEAM:-…}}"
    ]
    loaded = load_state(tmp_path, environ={"TEAM": "ops"}, mode="plan")
    web = loaded.state.containers["web"]
    assert web.environment["DATABASE_URL"] == Unknown(("DB_PASSWORD",), clear_prefix="postgres://app:")
    assert isinstance(web.environment["MODE"], Unknown)
    assert loaded.unknown == ("DB_PASSWORD", "MODE")
    shown = web.model_dump(mode="json")["environment"]
    assert shown == {"DATABASE_URL": KNOWN_AT_APPLY, "MODE": KNOWN_AT_APPLY}


def test_apply_needs_every_value_and_says_where(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(COMPOSE_SERVICE)
    assert errors(tmp_path, {"TEAM": "ops", "MODE": "fast"}, "apply") == [
        "state.yaml:11:9: containers.web.environment[0]: DB_PASSWORD is not set"
    ]


def test_bad_syntax_is_located_in_any_mode(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text("containers:\n  web:\n    image: app\n    labels: {a: '${A:=x}'}\n")
    for mode in ("validate", "plan", "apply"):
        assert errors(tmp_path, {}, mode)[0].startswith("state.yaml:4:17: containers.web.labels.a: unsupported variable")


def test_keys_are_never_interpolated(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text("containers:\n  web:\n    image: app\n    labels: {'$$x${A}': v}\n")
    assert load_state(tmp_path, environ={"A": "1"}).state.containers["web"].labels == {"$$x${A}": "v"}


def test_a_bare_environment_key_takes_its_value_as_compose_does(tmp_path: Path) -> None:
    (tmp_path / "state.yaml").write_text(
        "settings: {secrets: [TOKEN]}\n"
        "containers:\n"
        "  listed: {image: app, environment: [DEBUG, TOKEN, ABSENT, 'MODE=x']}\n"
        "  mapped: {image: app, environment: {DEBUG: null, TOKEN: null, ABSENT: null, MODE: x}}\n"
    )
    for name in ("listed", "mapped"):
        applied = load_state(tmp_path, environ={"DEBUG": "a$b", "TOKEN": "hunter2"}).state.containers[name]
        assert applied.environment["DEBUG"] == "a$b"  # a value is never interpolated again
        token = applied.environment["TOKEN"]
        assert isinstance(token, Sensitive) and token.reveal() == "hunter2"
        assert "ABSENT" not in applied.environment  # no value: left out of the container (Compose)
        planned = load_state(tmp_path, environ={}, mode="plan")
        env = planned.state.containers[name].environment
        assert set(env) == {"TOKEN", "MODE"} and isinstance(env["TOKEN"], Unknown)  # a secret: known at apply
        assert planned.unknown == ("TOKEN",)


def test_an_unreadable_secrets_list_makes_every_variable_secret(tmp_path: Path) -> None:
    """A broken settings.secrets cannot tell a plain variable from a secret: none is quoted."""
    (tmp_path / "state.yaml").write_text(
        "settings: {secrets: [DB_PASSWORD, null]}\naws: {region: '${REGION}'}\n"
        "containers:\n  web: {image: busybox, environment: {MODE: $MODE}}\n"
    )
    said = "\n".join(errors(tmp_path, {"REGION": "nowhere-Zq9", "MODE": "fast-Zq9"}, "apply"))
    assert "settings.secrets" in said
    assert "Zq9" not in said
