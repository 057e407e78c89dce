"""`reconcile schema`: a valid JSON Schema (2020-12) that accepts the example, file by file, and
catches in an editor what validate catches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor

from tests.cli.conftest import EXAMPLE, REPO, Run


class _TextTimestamps(SafeConstructor):
    """YAML 1.2, as editors read it: a timestamp is a string."""


_TextTimestamps.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from reconciler.model.spec import json_schema

    return json_schema()


def yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_the_command_prints_a_valid_2020_12_schema(reconcile: Run) -> None:
    result = reconcile("schema")
    assert result.returncode == 0
    printed = json.loads(result.stdout)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(printed)
    assert "healthcheck" in printed["$defs"]["Container"]["properties"]
    assert printed["$defs"]["Container"]["properties"]["init"]["description"].startswith("Run a tiny init")


def test_the_schema_accepts_every_example_file(schema: dict[str, Any]) -> None:
    validator = Draft202012Validator(schema)
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _TextTimestamps
    for file in yaml_files(EXAMPLE):
        errors = [error.message for error in validator.iter_errors(yaml.load(file.read_text()))]
        assert errors == [], f"{file}: {errors}"


@pytest.mark.parametrize(
    "document",
    [
        {"containerz": {}},
        {"containers": {"web": {"image": "a", "helthcheck": {}}}},
        {"containers": {"web": {"image": "a", "state": "runing"}}},
        {"containers": {"web": {"image": "a", "healthcheck": {"test": []}}}},
        {"containers": {"web": {"restart": "always"}}},
        {"ec2_instances": {"w": {"instance_type": "c7i-8xlarge", "ami": "ami-0123456789abcdef0"}}},
        {"disk_budgets": {"root": {"max_used_percent": 150}}},
        {"disk_budgets": {"root": {"max_used_percent": 80, "prune": ["old_images"]}}},
        {"s3_buckets": {"b": {"encryption": "AES-256"}}},
    ],
)
def test_the_schema_flags_in_an_editor_what_validate_flags(schema: dict[str, Any], document: dict[str, Any]) -> None:
    assert list(Draft202012Validator(schema).iter_errors(document))


def test_the_committed_schema_file_is_current(reconcile: Run) -> None:
    committed = (REPO / "schema" / "desired-state.schema.json").read_text()
    assert committed == reconcile("schema").stdout, "run: reconcile schema > schema/desired-state.schema.json"


def test_every_example_file_names_the_schema_for_editors() -> None:
    for file in yaml_files(EXAMPLE):
        first_line = file.read_text().splitlines()[0]
        relative = Path(*[".."] * (len(file.relative_to(EXAMPLE).parts))) / "schema" / "desired-state.schema.json"
        assert first_line == f"# yaml-language-server: $schema={relative.as_posix()}", file


def test_a_variable_is_welcome_wherever_the_loader_interpolates(schema: dict[str, Any]) -> None:
    service = {
        "image": "app:${TAG:-latest}",
        "ports": ["${PORT:-8080}:80"],
        "healthcheck": {"interval": "${CHECK_EVERY:-30s}", "retries": "${RETRIES}"},
        "init": "$INIT",
        "mem_limit": "${MEMORY:-512MB}",
        "restart": "${RESTART:-no}",
    }
    assert list(Draft202012Validator(schema).iter_errors({"containers": {"web": service}})) == []
    assert list(Draft202012Validator(schema).iter_errors({"containers": {"web": {"image": "a", "restart": "$5"}}}))
