"""Compose's variable interpolation over every scalar value of the desired state (never keys):
``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``,
``${VAR:+alternative}``, ``${VAR+alternative}``, nested in the operand (``${A:-${B:-c}}``), and
``$$`` for a literal ``$``; a ``$`` that starts no reference stays as written (Compose's rules).

Values come from the process environment and, below it, from ``DIR/.env`` (read as Compose reads
its ``.env``: ``KEY=VALUE``, quotes, comments, ``export``). A value that uses a secret becomes
Sensitive: a variable declared in ``settings.secrets``, one apply's environment names an application
secret, or one whose name says secret (``*PASSWORD*``, ``*TOKEN*``, ``*_KEY``, …) unless
``settings.plain`` lists it. The CI's own variables (``AWS_*``, ``GITHUB_*``, ``RUNNER_*``, ``HOME``,
…) are never read: a located error. A variable without a value is, by mode:

- ``validate``: a warning; the value is not checked (it is Unknown, or left out where the plan
  could not do without it);
- ``plan``: an Unknown, shown ``(known at apply)``, where the value may wait until apply (a
  container's environment, command, entrypoint, healthcheck.test); elsewhere an error. A secret
  without a value is Unknown whatever its operator (plan never has the application's secrets);
  ``${PLAIN:?msg}`` is an error;
- ``apply``: an error, unless a default applies. Applying a saved plan, a variable that had no value
  at plan is ``withheld`` unless apply's environment names it an application secret.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Literal

from reconciler.errors import Diagnostic
from reconciler.model.sensitive import Sensitive
from reconciler.model.source import Path, Position, SourceMap, dotted
from reconciler.model.unknown import Unknown

Mode = Literal["validate", "plan", "apply"]
NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
NAME_PATTERN = r"^[_A-Za-z][_A-Za-z0-9]*$"
OPERATORS = (":-", ":?", ":+", "-", "?", "+")
ENV_FILE = ".env"
MAX_NESTING = 32  # ${A:-${B:-…}} levels: far more than any real default chain, far less than Python's stack
MAY_WAIT_FOR_APPLY = "a container's environment, command, entrypoint and healthcheck.test"
SECRET_VALUE = "environment_value"  # where the loader puts an environment: source's ${VAR} (model/file_sources.py)


class TemplateError(ValueError):
    """Bad interpolation syntax."""


class Required(ValueError):
    """``${VAR:?message}`` (or a bare ``${VAR}`` at apply) without a value."""


class CiVariable(Required):
    """A reference to one of the CI's own variables (its credentials, tokens, paths)."""


CI_VARIABLE = re.compile(r"(AWS|GITHUB|ACTIONS|RUNNER|SSH|RECONCILE)_[_A-Za-z0-9]*|HOME|PATH|CI")
SECRET_LOOKING = re.compile(
    r".*(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|APIKEY|ACCESS_?KEY).*|(.*_)?KEY", re.IGNORECASE
)


def refuse_ci_variable(name: str) -> None:
    """Raise CiVariable for a name of the CI's own: a pull request's YAML must never read the job's keys."""
    if CI_VARIABLE.fullmatch(name):
        family = name.split("_", 1)[0] + "_*" if "_" in name else name
        raise CiVariable(
            f"${{{name}}}: {family} is the CI's own (credentials, tokens, paths), never a value of the desired "
            "state; use a variable of your own (an application secret: declared in settings.secrets)"
        )


# --- the grammar -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    name: str
    operator: str | None = None  # one of OPERATORS, or None for $VAR / ${VAR}
    operand: tuple[Node, ...] = ()


Node = str | Reference


def _closing_brace(text: str, start: int) -> int:
    """The index of the ``}`` that closes the ``${`` whose body starts at ``start``."""
    depth, index = 1, start
    while index < len(text):
        if text.startswith("$$", index):
            index += 2
            continue
        if text.startswith("${", index):
            depth, index = depth + 1, index + 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise TemplateError(f"unterminated ${{ in {text!r}: close it with }}, or write $$ for a literal $")


def parse(text: str, depth: int = 0) -> tuple[Node, ...]:
    """A template → literal text and references. Raises TemplateError on a malformed ``${…}``, or
    on references nested more than MAX_NESTING deep."""
    if depth > MAX_NESTING:
        raise TemplateError(f"variable references nested more than {MAX_NESTING} deep (${{A:-${{B:-…}}}}): flatten them")
    nodes: list[Node] = []
    literal: list[str] = []
    index = 0

    def flush() -> None:
        if literal:
            nodes.append("".join(literal))
            literal.clear()

    while index < len(text):
        char = text[index]
        if char != "$":
            literal.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            literal.append("$")
            index += 2
        elif following == "{":
            end = _closing_brace(text, index + 2)
            flush()
            nodes.append(_braced(text[index + 2 : end], depth))
            index = end + 1
        elif (named := NAME.match(text, index + 1)) is not None:
            flush()
            nodes.append(Reference(named.group()))
            index = named.end()
        else:  # Compose keeps a $ that starts no reference ($1, "$ ", a trailing $)
            literal.append("$")
            index += 1
    flush()
    return tuple(nodes)


def _braced(body: str, depth: int) -> Reference:
    named = NAME.match(body)
    if named is None:
        raise TemplateError(
            f"invalid variable reference ${{{body}}}: a name is letters, digits and _, not starting with a digit "
            "(write $$ for a literal $)"
        )
    rest = body[named.end() :]
    if not rest:
        return Reference(named.group())
    operator = next((op for op in OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise TemplateError(
            f"unsupported variable reference ${{{body}}}: Compose knows ${{VAR}}, ${{VAR:-default}}, ${{VAR-default}}, "
            "${VAR:?error}, ${VAR?error}, ${VAR:+alternative} and ${VAR+alternative}"
        )
    return Reference(named.group(), operator, parse(rest[len(operator) :], depth + 1))


# --- evaluation ----------------------------------------------------------------------------------


@dataclass
class _Evaluation:
    lookup: Callable[[str], str | None]
    secrets: frozenset[str]
    mode: Mode | Literal["dotenv"]
    secret: bool = False
    missing: list[str] = field(default_factory=list)  # variables without a value that make it Unknown
    read: dict[str, str] = field(default_factory=dict)  # plain variables whose values it read
    warnings: list[str] = field(default_factory=list)
    withheld: frozenset[str] = frozenset()  # no value at plan, and apply may not give them one
    secret_names: list[str] = field(default_factory=list)  # the secrets it used
    valued: list[str] = field(default_factory=list)  # the variables it found a value for

    def pieces(self, nodes: tuple[Node, ...]) -> list[str]:
        out: list[str] = []
        for node in nodes:
            out.extend([node] if isinstance(node, str) else self.reference(node))
        return out

    def _hole(self, name: str) -> list[str]:
        if name not in self.missing:
            self.missing.append(name)
        return []

    def reference(self, ref: Reference) -> list[str]:
        value = self.lookup(ref.name)
        if ref.name in self.secrets:
            self.secret = True
            if ref.name not in self.secret_names:
                self.secret_names.append(ref.name)
            if value is None and self.mode in ("validate", "plan"):
                return self._hole(ref.name)  # a secret's value, even its absence, is for apply to know
        if value is not None and ref.name not in self.valued:
            self.valued.append(ref.name)
        if value is not None and ref.name not in self.secrets:
            self.read[ref.name] = value
        op, empty = ref.operator, value is None or value == ""
        if op is None:
            if value is not None:
                return [value]
            if self.mode == "apply":
                raise Required(f"{ref.name} is not set" + (WITHHELD if ref.name in self.withheld else ""))
            return [] if self.mode == "dotenv" else self._hole(ref.name)
        if op in (":-", "-"):
            return self.pieces(ref.operand) if (empty if op == ":-" else value is None) else [value or ""]
        if op in (":+", "+"):
            return self.pieces(ref.operand) if not (empty if op == ":+" else value is None) else []
        if not (empty if op == ":?" else value is None):  # ":?" and "?"
            return [value or ""]
        wording = _Evaluation(self.lookup, self.secrets, "dotenv", withheld=self.withheld)
        said = "".join(wording.pieces(ref.operand))
        if wording.secret:  # a message is shown to everyone: never with a secret in it
            said = ""
        state = "empty" if value == "" else "not set"
        message = f"{ref.name} is {state}: {said}" if said else f"{ref.name} is {state}"
        if self.mode == "validate":
            self.warnings.append(message)
            return self._hole(ref.name)
        raise Required(message)


def _refuse_ci_variables(nodes: tuple[Node, ...]) -> None:
    """Every reference, whether or not evaluating it would reach it (``${A:-${AWS_SECRET_ACCESS_KEY}}``)."""
    for node in nodes:
        if isinstance(node, Reference):
            refuse_ci_variable(node.name)
            _refuse_ci_variables(node.operand)


def _clear_prefix(nodes: tuple[Node, ...]) -> str:
    prefix = []
    for node in nodes:
        if not isinstance(node, str):
            break
        prefix.append(node)
    return "".join(prefix)


@dataclass(frozen=True)
class Variables:
    """Where values come from, which are secret, and what a variable without a value means."""

    values: Mapping[str, str]
    secrets: frozenset[str] = frozenset()
    mode: Mode = "apply"
    env_file: str = ENV_FILE  # as shown in messages
    withheld: frozenset[str] = frozenset()  # had no value at plan; apply's environment may not give them one


WITHHELD = (
    " (it had no value when the plan was made: at apply a variable gains one only as a secret the plan named "
    "that apply's environment names an application secret, in RECONCILE_SECRETS or --secret)"
)


@dataclass(frozen=True)
class Interpolated:
    value: str | Sensitive | Unknown
    warnings: tuple[str, ...] = ()
    read: tuple[tuple[str, str], ...] = ()  # the plain variables it read, with their values
    secrets: tuple[str, ...] = ()  # the secret variables it used (names only)
    valued: tuple[str, ...] = ()  # the variables it found a value for (names only)


def interpolate(text: str, variables: Variables) -> Interpolated:
    """One scalar. Raises TemplateError (syntax) or Required (no value where one is needed)."""
    if "$" not in text:
        return Interpolated(text)
    nodes = parse(text)
    _refuse_ci_variables(nodes)
    evaluation = _Evaluation(variables.values.get, variables.secrets, variables.mode, withheld=variables.withheld)
    result = "".join(evaluation.pieces(nodes))
    prefix = _clear_prefix(nodes)
    warnings, read = tuple(evaluation.warnings), tuple(evaluation.read.items())
    names = (tuple(evaluation.secret_names), tuple(evaluation.valued))
    if evaluation.missing:
        return Interpolated(Unknown(tuple(evaluation.missing), evaluation.secret, prefix), warnings, read, *names)
    return Interpolated(Sensitive(result, prefix) if evaluation.secret else result, warnings, read, *names)


def split_assignment(item: str | Sensitive | Unknown) -> tuple[str, str | Sensitive | Unknown] | None:
    """``KEY=VALUE`` (compose's list form of environment and labels) → (KEY, VALUE); the key must be
    written in the clear (``KEY=${SECRET}``), so that splitting never reads a secret into a name."""
    if isinstance(item, str):
        key, sep, value = item.partition("=")
        return (key, value) if sep else None
    key, sep, _ = item.clear_prefix.partition("=")
    if not sep:
        return None
    if isinstance(item, Sensitive):
        return key, Sensitive(item.reveal()[len(key) + 1 :], item.clear_prefix[len(key) + 1 :])
    return key, item.after(len(key) + 1)


# --- .env ----------------------------------------------------------------------------------------

_SINGLE_QUOTED = re.compile(r"\s*(?:export\s+)?[^=\s]+\s*=\s*'")


def read_env_file(path: FsPath, display: str, environ: Mapping[str, str]) -> tuple[dict[str, str], list[Diagnostic]]:
    """``DIR/.env`` as Compose reads it: python-dotenv's parser (KEY=VALUE, quotes, comments,
    ``export``), then each unquoted or double-quoted value interpolated from the process environment
    and the lines above it (the process environment wins); single quotes keep the text as written."""
    if not path.is_file():
        return {}, []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return {}, [Diagnostic(display, 1, 1, f"cannot read: {getattr(error, 'strerror', None) or error}")]
    from dotenv.parser import parse_stream  # here: a state without a .env never imports it

    values: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            problems.append(Diagnostic(display, line, 1, "expected KEY=VALUE (or a # comment)"))
            continue
        if binding.key is None or binding.value is None:
            continue  # a comment, a blank line, or a bare KEY (no value: the environment's, if any, stands)
        if _SINGLE_QUOTED.match(binding.original.string):
            values[binding.key] = binding.value
            continue

        def lookup(name: str) -> str | None:
            return environ.get(name, values.get(name))

        try:
            nodes = parse(binding.value)
            _refuse_ci_variables(nodes)
            values[binding.key] = "".join(_Evaluation(lookup, frozenset(), "dotenv").pieces(nodes))
        except (TemplateError, Required) as error:
            problems.append(Diagnostic(display, line, 1, f"{binding.key}: {error}"))
    return values, problems


def variables_for(
    directory: FsPath,
    display_dir: str,
    environ: Mapping[str, str],
    secrets: frozenset[str],
    mode: Mode,
    withheld: frozenset[str] = frozenset(),
) -> tuple[Variables, list[Diagnostic]]:
    """The values a state sees: its ``.env`` below the process environment."""
    display = f"{display_dir.rstrip('/')}/{ENV_FILE}"
    from_file, problems = read_env_file(directory / ENV_FILE, display, environ)
    return Variables({**from_file, **environ}, secrets, mode, display, withheld), problems


# --- the walk over a document ----------------------------------------------------------------------


VARIABLE_FIELDS = ("environment.", "command", "entrypoint", "healthcheck.test")


def in_variable_field(change_path: str) -> bool:
    """A plan change's path (``environment.KEY``, ``command``, …) in a field where a value may wait
    for apply."""
    return change_path.startswith(VARIABLE_FIELDS)


def may_wait_for_apply(path: Path) -> bool:
    """Where a value may be Unknown at plan: the values a container hands to its process. Anything
    else decides what plan observes or compares (a host, an image, a port), so plan needs it."""
    if len(path) == 3 and path[0] == "secrets" and path[2] == SECRET_VALUE:
        return True  # a secret's value reaches only the container's file (compose's secrets: environment:)
    if len(path) < 3 or path[0] != "containers":
        return False
    return path[2] in ("environment", "command", "entrypoint") or path[2:4] == ("healthcheck", "test")


@dataclass
class Resolution:
    """The interpolated document, and what interpolation found."""

    data: dict[str, Any]
    problems: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    left_out: list[tuple[Path, Position]] = field(default_factory=list)  # values left out, already reported
    unknown: list[str] = field(default_factory=list)  # plan: variables whose values are known at apply
    plain: dict[str, str] = field(default_factory=dict)  # plain variables read where plan needs them, with values
    secrets: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (section, name) → the secrets it uses
    valued: list[str] = field(default_factory=list)  # every variable that had a value (names only)


_DROP = object()


def left_out_message(resolution: Resolution, diagnostic: Diagnostic) -> bool:
    """Is this a validation problem only because interpolation left a value out (already reported,
    as an error or, at validate, a warning): a problem at the value's place, or its key now missing?"""
    for path, position in resolution.left_out:
        if (diagnostic.file, diagnostic.line, diagnostic.col) == (position.file, position.line, position.col):
            return True
        if diagnostic.message.startswith(f"{dotted(path[:-1])}: missing required key {path[-1]!r}"):
            return True
    return False


def _is_environment(path: Path) -> bool:
    return len(path) == 3 and path[0] == "containers" and path[2] == "environment"


def bare_value(name: str, variables: Variables) -> str | Sensitive | Unknown | None:
    """Compose's ``environment: [NAME]`` (or ``NAME:`` with no value): the variable's value, or
    None (left out of the container, as Compose does) when it has none. A secret without a value
    at plan is known at apply."""
    value = variables.values.get(name)
    secret = name in variables.secrets
    if value is None:
        return Unknown((name,), secret=True) if secret and variables.mode != "apply" else None
    return Sensitive(value) if secret else value


def _bare_keys_resolved(environment: Any, variables: Variables) -> Any:
    """A container's environment with each bare key given its value (or left out), before the
    values are interpolated: a resolved value is never interpolated again (it is Resolved)."""
    if isinstance(environment, dict):
        resolved: dict[str, Any] = {}
        for key, item in environment.items():
            if item is None and isinstance(key, str) and (CI_VARIABLE.fullmatch(key) or key in variables.withheld):
                item = f"${{{key}}}"  # interpolated as such: a located error (the CI's own, or withheld at apply)
            elif item is None and isinstance(key, str) and NAME.fullmatch(key):
                value = bare_value(key, variables)
                if value is None:
                    continue
                valued = () if isinstance(value, Unknown) else (key,)
                item = _Resolved(value, (key,) if key in variables.secrets else (), valued)
            resolved[key] = item
        return resolved
    if isinstance(environment, list):
        items: list[Any] = []
        for item in environment:
            if isinstance(item, str) and (CI_VARIABLE.fullmatch(item) or item in variables.withheld):
                item = f"{item}=${{{item}}}"
            elif isinstance(item, str) and NAME.fullmatch(item):
                value = bare_value(item, variables)
                if value is None:
                    continue
                prefix = f"{item}="
                if isinstance(value, Sensitive):
                    item = _Resolved(Sensitive(prefix + value.reveal(), prefix), (item,), (item,))
                elif isinstance(value, Unknown):
                    item = _Resolved(Unknown(value.variables, value.secret, prefix), (item,) if value.secret else ())
                else:
                    item = _Resolved(prefix + value, (), (item,))
            items.append(item)
        return items
    return environment


@dataclass(frozen=True)
class _Resolved:
    value: Any
    secrets: tuple[str, ...] = ()  # the secret it is the value of
    valued: tuple[str, ...] = ()  # the variable it is the value of, when it has one


class _EveryName(frozenset[str]):
    """Every variable name: what a ``settings.secrets`` that cannot be read declares secret."""

    def __contains__(self, name: object) -> bool:
        return True


class _Secrets(frozenset[str]):
    """The declared secrets and apply's application secrets, and every name that says secret
    (SECRET_LOOKING) unless settings.plain lists it: secure by default."""

    plain: frozenset[str]

    def __new__(cls, named: frozenset[str], plain: frozenset[str]) -> _Secrets:
        made = super().__new__(cls, named)
        made.plain = plain - named
        return made

    def __contains__(self, name: object) -> bool:
        if frozenset.__contains__(self, name):
            return True
        return isinstance(name, str) and name not in self.plain and SECRET_LOOKING.fullmatch(name) is not None


def _names(settings: Any, key: str) -> frozenset[str] | None:
    """A list of names in settings (the model checks its form); None when absent, _EveryName when
    unreadable."""
    declared = settings.get(key) if isinstance(settings, dict) else None
    if declared is None:
        return None
    if not isinstance(declared, list) or not all(isinstance(name, str) for name in declared):
        return _EveryName()
    return frozenset(declared)


def secrets_declared(data: Mapping[str, Any], application: frozenset[str] = frozenset()) -> frozenset[str]:
    """The secret variables, read before interpolation: ``settings.secrets`` as written, apply's
    ``application`` secrets (named outside the pull request), and every name that says secret unless
    ``settings.plain`` lists it. When settings.secrets is there but not a list of names, no variable
    can be told plain, so every one is secret (and so when settings.plain cannot be read)."""
    settings = data.get("settings")
    declared, plain = _names(settings, "secrets"), _names(settings, "plain")
    if isinstance(declared, _EveryName) or isinstance(plain, _EveryName):
        return _EveryName()
    sources = data.get("secrets")
    from_sources = frozenset(
        spec["environment"]
        for spec in (sources.values() if isinstance(sources, dict) else ())
        if isinstance(spec, dict) and isinstance(spec.get("environment"), str)
    )  # a compose secret's variable is a secret whatever settings says
    return _Secrets((declared or frozenset()) | application | from_sources, (plain or frozenset()) - from_sources)


def _note_secrets(resolution: Resolution, path: Path, names: tuple[str, ...]) -> None:
    """Which secrets each resource uses (the plan names them, never their values)."""
    if names and len(path) >= 2:
        used = resolution.secrets.setdefault((str(path[0]), str(path[1])), [])
        used.extend(name for name in names if name not in used)


def resolve(data: dict[str, Any], source: SourceMap, variables: Variables) -> Resolution:
    """Interpolate every string value of ``data`` (keys never), locating each problem."""
    resolution = Resolution({})

    def where(path: Path) -> Position:
        return source.values.get(path) or source.nearest(path) or Position(variables.env_file, 1, 1)

    def scalar(text: str, path: Path) -> Any:
        try:
            done = interpolate(text, variables)
        except (TemplateError, Required) as error:
            resolution.problems.append(where(path).diagnostic(f"{dotted(path)}: {error}"))
            resolution.left_out.append((path, where(path)))  # said once: no second error about the same value
            return _DROP
        for warning in done.warnings:
            resolution.warnings.append(where(path).diagnostic(f"warning: {dotted(path)}: {warning}"))
        if not may_wait_for_apply(path):
            resolution.plain.update(done.read)
        _note_secrets(resolution, path, done.secrets)
        resolution.valued.extend(name for name in done.valued if name not in resolution.valued)
        value = done.value
        if not isinstance(value, Unknown):
            return value
        names = ", ".join(value.variables)
        verb = "is" if len(value.variables) == 1 else "are"
        if may_wait_for_apply(path):
            if variables.mode == "validate" and not done.warnings:
                resolution.warnings.append(
                    where(path).diagnostic(f"warning: {dotted(path)}: {names} {verb} not set: plan shows (known at apply)")
                )
            resolution.unknown.extend(name for name in value.variables if name not in resolution.unknown)
            return value
        if variables.mode == "validate":
            if not done.warnings:
                resolution.warnings.append(
                    where(path).diagnostic(f"warning: {dotted(path)}: {names} {verb} not set: not checked; plan needs it")
                )
            resolution.left_out.append((path, where(path)))
            return _DROP
        resolution.problems.append(
            where(path).diagnostic(
                f"{dotted(path)}: {names} {verb} not set, and plan needs this value (only {MAY_WAIT_FOR_APPLY} may wait "
                f"until apply): set it in the environment or in {variables.env_file}, or give a default: "
                f"${{{value.variables[0]}:-…}}"
            )
        )
        resolution.left_out.append((path, where(path)))
        return _DROP

    def walk(value: Any, path: Path) -> Any:
        if _is_environment(path):
            value = _bare_keys_resolved(value, variables)
        if isinstance(value, dict):
            result = {key: walk(item, (*path, key)) for key, item in value.items()}
            return {key: item for key, item in result.items() if item is not _DROP}
        if isinstance(value, list):
            return [item for item in (walk(item, (*path, index)) for index, item in enumerate(value)) if item is not _DROP]
        if isinstance(value, str):
            return scalar(value, path)
        if isinstance(value, _Resolved):
            _note_secrets(resolution, path, value.secrets)
            resolution.valued.extend(name for name in value.valued if name not in resolution.valued)
            if isinstance(value.value, Unknown):
                resolution.unknown.extend(name for name in value.value.variables if name not in resolution.unknown)
            return value.value
        return value

    resolution.data = walk(data, ())
    return resolution


# --- the JSON Schema, for editors ------------------------------------------------------------------

VARIABLE_TEXT: dict[str, Any] = {"type": "string", "pattern": r"\$(\{|[_A-Za-z])"}
_SCALAR_TYPES = frozenset(("string", "integer", "number", "boolean"))
_SHOWN = ("title", "description", "default")


def _scalar(node: dict[str, Any]) -> bool:
    """A schema of a value a variable may stand for (a number, a pattern, a choice), not a string
    that already admits any text."""
    types = node.get("type")
    types = set(types) if isinstance(types, list) else {types} if types else set()
    if "enum" in node or "const" in node:
        return True
    if not types or not types <= _SCALAR_TYPES | {"null"}:
        return False
    return types != {"string"} or any(key in node for key in ("pattern", "minLength", "maxLength", "format"))


def admit_variables(schema: Any) -> Any:
    """The schema with every scalar value also admitting a string with a ${VAR} or $VAR in it, as
    the loader interpolates before it validates: an editor never flags ``ports: ["${PORT}:80"]``."""
    if isinstance(schema, list):
        return [admit_variables(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if _scalar(schema):
        shown = {key: schema[key] for key in _SHOWN if key in schema}
        rest = {key: value for key, value in schema.items() if key not in _SHOWN}
        return {**shown, "anyOf": [rest, VARIABLE_TEXT]}
    if isinstance(schema.get("anyOf"), list) and all(isinstance(b, dict) and _scalar(b) for b in schema["anyOf"]):
        return {**schema, "anyOf": [*schema["anyOf"], VARIABLE_TEXT]}
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            result[key] = {name: admit_variables(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            result[key] = admit_variables(value)
        else:
            result[key] = value
    return result
