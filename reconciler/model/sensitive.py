"""A value that uses a secret variable (declared in ``settings.secrets``). It renders as
``(sensitive)`` everywhere; the only way to the real text is ``reveal()``, which is for the clients
that hand it to Docker or AWS."""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from reconciler.model.unknown import KNOWN_AT_APPLY, Unknown

REDACTED = "(sensitive)"


class Sensitive:
    __slots__ = ("_value", "clear_prefix")

    def __init__(self, value: str, clear_prefix: str = "") -> None:
        self._value = value
        self.clear_prefix = clear_prefix  # the literal text before the first variable (``KEY=`` of ``KEY=${X}``)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Sensitive({REDACTED})"

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Sensitive, self._value))

    def __reduce__(self) -> Any:
        raise TypeError("a sensitive value cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.is_instance_schema(
            cls, serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: REDACTED)
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string"}


def reveal(value: str | Sensitive | Unknown) -> str:
    """The text to hand to an API (never to a user)."""
    if isinstance(value, Unknown):  # apply loads every variable; a plan never hands a value to an API
        raise TypeError("a value known only at apply has no text yet")
    return value.reveal() if isinstance(value, Sensitive) else value


def redact(value: object) -> object:
    """The same value with every sensitive part shown as ``(sensitive)`` (and every value known
    only at apply as ``(known at apply)``), for any output."""
    if isinstance(value, Sensitive):
        return REDACTED
    if isinstance(value, Unknown):
        return KNOWN_AT_APPLY
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value
