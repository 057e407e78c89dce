"""A value that came from the process environment. It renders as ``(sensitive)`` everywhere; the
only way to the real text is ``reveal()``, which is for the clients that hand it to Docker or AWS."""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

REDACTED = "(sensitive)"


class Sensitive:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

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


def reveal(value: str | Sensitive) -> str:
    """The text to hand to an API (never to a user)."""
    return value.reveal() if isinstance(value, Sensitive) else value


def redact(value: object) -> object:
    """The same value with every sensitive part shown as ``(sensitive)``, for any output."""
    if isinstance(value, Sensitive):
        return REDACTED
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value
