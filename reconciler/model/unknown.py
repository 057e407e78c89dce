"""A value that is known only at apply: it uses a variable that has no value when the plan is made
(an application secret that only apply receives). It renders as ``(known at apply)`` everywhere;
it has no text to reveal, so it can never reach an engine, a hash or a label."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

KNOWN_AT_APPLY = "(known at apply)"


class Unknown:
    __slots__ = ("clear_prefix", "secret", "variables")

    def __init__(self, variables: tuple[str, ...], secret: bool = False, clear_prefix: str = "") -> None:
        self.variables = variables  # the variables without a value, in order of use
        self.secret = secret  # it uses a secret: once known, it is Sensitive
        self.clear_prefix = clear_prefix  # the literal text before the first variable (``KEY=`` of ``KEY=${X}``)

    def __str__(self) -> str:
        return KNOWN_AT_APPLY

    def __repr__(self) -> str:
        return f"Unknown({', '.join(self.variables)})"

    def __format__(self, spec: str) -> str:
        return format(KNOWN_AT_APPLY, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and (other.variables, other.clear_prefix) == (self.variables, self.clear_prefix)

    def __hash__(self) -> int:
        return hash((Unknown, self.variables, self.clear_prefix))

    def after(self, prefix_length: int) -> Unknown:
        """The part after the first ``prefix_length`` characters of the clear prefix."""
        return Unknown(self.variables, self.secret, self.clear_prefix[prefix_length:])


def _walk(value: Any, path: str) -> Iterator[tuple[str, Unknown]]:
    if isinstance(value, Unknown):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def unknowns(value: Any) -> dict[str, Unknown]:
    """Every Unknown inside a spec (a pydantic model, or plain data), by its dotted path."""
    return dict(_walk(value, ""))


def holds_unknown(value: Any) -> bool:
    return next(_walk(value, ""), None) is not None
