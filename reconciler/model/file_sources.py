"""Compose's environment: source of a config or secret, read as compose reads it: the variable's
value (from the environment, or DIR/.env). The loader writes it as a ``${VAR}`` beside the source
before interpolation, so it follows every rule a variable follows (a secret's is Sensitive, and
known at apply when plan lacks it; the CI's own variables are refused), and a container that mounts
a secret names the secret's variable as its own (apply may gain it, as it gains its environment's)."""

from __future__ import annotations

from typing import Any

from reconciler.errors import Diagnostic
from reconciler.model.interpolate import NAME, SECRET_VALUE, Resolution
from reconciler.model.source import Position, SourceMap, dotted

SECTIONS = ("configs", "secrets")


def with_environment_values(data: dict[str, Any], source: SourceMap, fallback: Position) -> list[Diagnostic]:
    """Each environment: source gains its ``${VAR}`` (in place); a value written by hand where the
    loader puts it is an unknown key."""
    problems = []
    for section in SECTIONS:
        resources = data.get(section)
        for name, spec in resources.items() if isinstance(resources, dict) else ():
            if not isinstance(spec, dict):
                continue
            if SECRET_VALUE in spec:
                path = (section, name, SECRET_VALUE)
                position = source.nearest(path, prefer_key=True) or fallback
                problems.append(position.diagnostic(f"{dotted(path)}: unknown key {SECRET_VALUE!r}"))
                del spec[SECRET_VALUE]
            variable = spec.get("environment")
            if isinstance(variable, str) and NAME.fullmatch(variable):
                spec[SECRET_VALUE] = f"${{{variable}}}"
    return problems


def at_their_variable(problems: list[Diagnostic], source: SourceMap) -> list[Diagnostic]:
    """A problem with an environment: source's value, said at that environment: key."""
    placed = []
    for problem in problems:
        warning = "warning: " if problem.message.startswith("warning: ") else ""
        head, _, rest = problem.message.removeprefix(warning).partition(": ")
        path = tuple(head.split("."))
        if len(path) == 3 and path[0] in SECTIONS and path[2] == SECRET_VALUE:
            where = source.values.get((path[0], path[1], "environment"))
            problem = Diagnostic(
                where.file if where else problem.file, where.line if where else problem.line,
                where.col if where else problem.col, f"{warning}{path[0]}.{path[1]}.environment: {rest}",
            )  # fmt: skip
        placed.append(problem)
    return placed


def mounted(container: Any, key: str) -> list[str]:
    """The names a container's configs: or secrets: (short or long form) mount, as written."""
    items = container.get(key) if isinstance(container, dict) else None
    names = []
    for item in items if isinstance(items, list) else ():
        name = item if isinstance(item, str) else item.get("source") if isinstance(item, dict) else None
        if isinstance(name, str):
            names.append(name)
    return names


def lend_secret_names(resolution: Resolution) -> None:
    """A container that mounts a secret uses that secret's variable (names only)."""
    containers = resolution.data.get("containers")
    for name, container in containers.items() if isinstance(containers, dict) else ():
        for secret in mounted(container, "secrets"):
            for variable in resolution.secrets.get(("secrets", secret), ()):
                used = resolution.secrets.setdefault(("containers", str(name)), [])
                if variable not in used:
                    used.append(variable)
