"""pydantic's validation errors → located diagnostics in the user's words, with 'did you mean'.
No input value is ever echoed when it is sensitive."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.errors import Diagnostic
from reconciler.model.fields import SECRET_FIELDS, SubpathError
from reconciler.model.sensitive import Sensitive
from reconciler.model.source import Path, Position, SourceMap, dotted
from reconciler.model.spec import State
from reconciler.model.suggest import did_you_mean

_EXPECTED_NOUN = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "decimal_type": "a number",
}


def describe(value: object) -> str:
    if isinstance(value, Sensitive):
        return "a value that uses a secret"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{type(value).__name__} {value!r}"


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def keys_allowed_at(path: Path) -> list[str]:
    """The keys the model accepts at ``path`` (for 'did you mean' on an unknown key)."""
    annotation: Any = State
    for part in path:
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            by_alias = {(info.alias or name): info for name, info in annotation.model_fields.items()}
            if part not in by_alias:
                return []
            annotation = by_alias[part].annotation
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
        elif origin in (list, tuple):
            annotation = typing.get_args(annotation)[0]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _message(error: Any, path: Path) -> tuple[Path, str, bool]:
    """(path to point at, message, point at the key rather than the value)."""
    kind = error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = path[-1]
        return path, f"unknown key {key!r}{did_you_mean(key, keys_allowed_at(path[:-1]))}", True
    if kind == "missing":
        return path[:-1], f"missing required key {path[-1]!r}", True
    if isinstance(value, Sensitive):
        return path, f"this value uses a secret (settings.secrets); a secret is only allowed in {SECRET_FIELDS}", False
    if kind == "value_error":
        cause = context.get("error")
        if isinstance(cause, SubpathError):
            return (*path, *cause.subpath), str(cause), False
        return path, str(cause) if cause is not None else error["msg"], False
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'|(\d+)", context.get("expected", ""))
        options = [quoted or number for quoted, number in choices]
        shown = ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else "".join(options)
        given = repr(value) if isinstance(value, str) else describe(value)
        return path, f"invalid value {given}: expected {shown}{did_you_mean(value, options)}", False
    if kind in _EXPECTED_NOUN:
        return path, f"expected {_EXPECTED_NOUN[kind]}, got {describe(value)}", False
    return path, error["msg"], False


def diagnostics_from(error: ValidationError, source: SourceMap, fallback: Position) -> list[Diagnostic]:
    diagnostics = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        on_key = "[key]" in loc
        if on_key:
            loc = loc[: loc.index("[key]")]
        path, message, prefer_key = _message(item, loc)
        position = source.nearest(path, prefer_key=prefer_key or on_key) or fallback
        diagnostics.append(position.diagnostic(f"{dotted(path)}: {message}"))
    return diagnostics
