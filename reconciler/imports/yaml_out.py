"""Imported declarations → desired-state YAML text (ruamel.yaml). No secret reaches the text: every
environment value is written as a ``${VAR}`` placeholder, and every other ``$`` is escaped as
``$$`` so the loader reads back exactly what the engine holds."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.model.sensitive import Sensitive

FLOW_LISTS = ("command", "entrypoint", "test")


@dataclass(frozen=True)
class Variable:
    name: str  # the ${NAME} to export
    resource: str  # where it is used, e.g. "container web, API_KEY"


class VariableNames:
    """One environment variable name per (resource, key): RESOURCE_KEY in capitals, never twice."""

    def __init__(self) -> None:
        self.used: list[Variable] = []

    def __call__(self, resource: str, key: str) -> str:
        base = re.sub(r"[^A-Z0-9_]", "_", f"{resource}_{key}".upper())
        base = base if re.match(r"[A-Z_]", base) else f"_{base}"
        taken = {variable.name for variable in self.used}
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        self.used.append(Variable(name, f"{resource}: {key}"))
        return name


def escaped(text: str) -> str:
    return text.replace("$", "$$")


class Placeholder(str):
    """A ``${VAR}`` reference: written as it is, never escaped."""


def with_placeholders(resource: str, environment: Mapping[str, Any], names: VariableNames) -> dict[str, Placeholder]:
    return {key: Placeholder(f"${{{names(resource, key)}}}") for key in environment}


def _yaml_value(value: Any, key: str | None) -> Any:
    if isinstance(value, Placeholder):
        return str(value)
    if isinstance(value, Sensitive):
        raise TypeError("a sensitive value must be replaced by its placeholder before rendering")
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, Mapping):
        mapping = CommentedMap()
        for child, item in value.items():
            mapping[child] = _yaml_value(item, child)
        return mapping
    if isinstance(value, (list, tuple)):
        sequence = CommentedSeq(_yaml_value(item, None) for item in value)
        if key in FLOW_LISTS:
            sequence.fa.set_flow_style()
        return sequence
    return value


def to_yaml(header: Iterable[str], sections: Mapping[str, Mapping[str, Any]]) -> str:
    """``header`` lines become comments; empty sections are left out."""
    document = CommentedMap()
    for section, resources in sections.items():
        if resources:
            document[section] = _yaml_value(resources, section)
    text = io.StringIO()
    for line in header:
        text.write(f"# {line}\n" if line else "#\n")
    if document:
        yaml = YAML()
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096
        yaml.dump(document, text)
    return text.getvalue()
