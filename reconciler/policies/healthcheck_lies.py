"""Healthchecks that cannot tell the truth, from the declared state alone (pure: nothing is run).

Three lies, each with the reason and a better check:

- ``healthcheck-cannot-fail``: whatever happens, the check exits 0 (``|| exit 0``, ``|| true``,
  ``|| :``, ``; exit 0``, ``| cat``, an ``if`` without ``else``, ``true``, ``echo``, ``exit 0``).
  Decided by evaluating the shell's exit status over the command's syntax tree (bashlex): every
  simple command that is not known to succeed or fail may do either, so a finding means *certain*.
- ``healthcheck-process-grep``: the check looks for a process (``ps … | grep X``, ``pgrep``,
  ``pidof``, ``ps -C``). A hung process still passes; a dead main process stops the container anyway;
  and ``grep X`` can find its own command line in ps's output unless it is excluded (``grep -v grep``,
  ``[X]``-style patterns).
- ``healthcheck-probes-other-service``: the check probes (``nc``, ``curl``/``wget``/any URL,
  ``/dev/tcp``, ``socat``, ``telnet``, ``redis-cli``, ``pg_isready``, ``host='…'`` in ``python -c``)
  another declared container by
  name, a remote host, a local port that a ``depends_on`` container (or one sharing this one's network
  namespace) declares and this one does not, or a local port this container does not declare when it
  declares others. What a container declares: ``ports`` (the container side), ``expose``, listen
  options in its ``command``/``entrypoint`` (``--port 6379``, ``--web.listen-address=:9121``,
  ``-p 127.0.0.1:8080``, ``--bind``, ``--listen``), ``PORT``/``*LISTEN*`` environment values, and what
  its image declares (EXPOSE, listen options in its CMD/ENTRYPOINT) when the caller read it. A
  container that declares no port at all is not judged on an unknown local port: it cannot be told.

Sensitive items are never quoted: a sensitive test is checked for cannot-fail and process grep with
messages that quote nothing from it, and no probe is taken from it.
"""

from __future__ import annotations

import functools
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.model.sensitive import Sensitive, reveal
from reconciler.model.spec import Container
from reconciler.model.unknown import Unknown
from reconciler.policies import shell_tree
from reconciler.policies.shell_tree import children as _children
from reconciler.policies.shell_tree import kind as _kind
from reconciler.policies.shell_tree import walk as _walk

CANNOT_FAIL = "healthcheck-cannot-fail"
PROCESS_GREP = "healthcheck-process-grep"
OTHER_SERVICE = "healthcheck-probes-other-service"

SHELLS = frozenset({"sh", "bash", "ash", "dash", "ksh", "mksh", "zsh", "hush"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "ip6-localhost", "localhost.localdomain"})
_URL = re.compile(r"\b(?:https?|tcp|redis|postgres(?:ql)?|mysql|amqp|mongodb)://([^\s/'\"?#|;&<>()`]+)")
_DEV_TCP = re.compile(r"^/dev/(?:tcp|udp)/([^/\s]+)/([0-9]+)$")
_DEFAULT_PORT = {"http": 80, "https": 443, "redis": 6379, "postgres": 5432, "postgresql": 5432, "mysql": 3306,
                 "amqp": 5672, "mongodb": 27017}  # fmt: skip
_MAX_DEPTH = 4


@dataclass(frozen=True)
class Lie:
    code: str
    message: str
    remedy: str


@dataclass(frozen=True)
class Probe:
    host: str  # as written, lower-case; "" when the tool's default (local) is used
    port: int | None
    written: str  # for messages: host:port or the URL


@dataclass(frozen=True)
class ImageDeclares:
    """What an image's config declares about its ports (EXPOSE, and the listen options of its
    CMD/ENTRYPOINT), read by observe; used for containers that run it without overriding them."""

    exposed: frozenset[int] = frozenset()
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()


class Declared:
    """Every declared container (for depends_on and names) and what the image of each declares (by
    container name, where observe read it); built once a plan, its answers kept."""

    def __init__(self, containers: Mapping[str, Container], images: Mapping[str, ImageDeclares] | None = None) -> None:
        self.containers = containers
        self.images = images or {}
        self._ports: dict[str, dict[int, str]] = {}
        self.by_host_name: dict[str, str] = {}  # a host name that reaches a container → the container
        self.sharing: dict[str, list[str]] = {}  # a container → those in its network namespace (container:NAME)
        self._host_network: dict[tuple[str | None, int], list[str]] | None = None
        for other, spec in containers.items():
            for alias in _names(other, spec):
                self.by_host_name.setdefault(alias, other)
            if spec.network_mode.startswith("container:"):
                target = spec.network_mode.partition(":")[2]
                self.sharing.setdefault(target, []).append(other)
                self.sharing.setdefault(other, []).append(target)

    def ports(self, name: str) -> dict[int, str]:
        if name not in self._ports:
            self._ports[name] = declared_ports(self.containers[name], self.images.get(name))
        return self._ports[name]

    def owners(self, name: str, port: int) -> list[str]:
        """The containers on ``name``'s host that declare ``port`` and that it depends on or whose
        network namespace it shares (host networking, container:NAME): depends_on first."""
        spec = self.containers[name]
        candidates = [*spec.depends_on, *sorted(self.sharing.get(name, ()))]
        if spec.network_mode == "host":
            candidates += self.host_network().get((spec.host, port), [])
        found: list[str] = []
        for other in candidates:
            there = self.containers.get(other)
            if (
                other != name
                and other not in found
                and there is not None
                and there.host == spec.host
                and port in self.ports(other)
            ):
                found.append(other)
        return found

    def host_network(self) -> dict[tuple[str | None, int], list[str]]:
        if self._host_network is None:
            owners: dict[tuple[str | None, int], list[str]] = {}
            for other, spec in sorted(self.containers.items()):
                if spec.network_mode == "host":
                    for port in self.ports(other):
                        owners.setdefault((spec.host, port), []).append(other)
            self._host_network = owners  # assigned whole: a reader never sees it half built
        return self._host_network


def healthcheck_lies(name: str, declared: Declared) -> list[Lie]:
    """The lies in the healthcheck of the declared container ``name``."""
    spec = declared.containers[name]
    check = spec.healthcheck
    if check is None or check.disable or not check.test or len(check.test) < 2:
        return []
    test = [item for item in check.test if not isinstance(item, Unknown)]
    if len(test) != len(check.test):
        return []  # its words are known at apply: apply loads them, and the next plan checks them
    analysed = _analysed(tuple(test))
    if analysed is None:
        return []
    probed, reason, grep = analysed
    secret = any(isinstance(item, Sensitive) for item in check.test)
    own = declared.ports(name)
    lies: list[Lie] = []
    if reason is not None:
        shown = "" if secret else f" ({_explain(reason)})"
        lies.append(
            Lie(
                CANNOT_FAIL,
                f"the healthcheck cannot fail{shown}: it reports healthy whatever the service does, and "
                "depends_on and the healthy-first replace trust it",
                _cannot_fail_remedy(None if secret else reason, own),
            )
        )
    if grep is not None:
        lies.append(_process_lie(grep, secret, own))
    if not secret:
        lies += _probe_lies(name, declared, probed)
    return lies


@functools.lru_cache(maxsize=1024)  # the same check on many containers is judged once
def _analysed(test: tuple[str | Sensitive, ...]) -> tuple[tuple[Probe, ...], tuple[str, str] | None, _ProcessCheck | None] | None:
    """What the test alone says, whoever runs it: the endpoints its scripts probe, why it cannot
    fail, its process grep; None when it cannot be parsed."""
    scripts = _scripts(test)
    if scripts is None:
        return None
    probed = tuple(probe for script in scripts for probe in probes(script))
    return probed, _cannot_fail(test, scripts), _process_grep(scripts)


# --- parsing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Script:
    text: str
    trees: tuple[Any, ...] = ()
    argv: tuple[str, ...] | None = None  # a CMD form without a shell: the words as they are, nothing parsed


@functools.lru_cache(maxsize=1024)  # the same check on many containers is parsed once
def _parse(text: str) -> _Script | None:
    from reconciler.policies.shell_parser import parse  # here, not at start-up: it imports bashlex

    try:
        return _Script(text, parse(text))
    except Exception:  # bashlex raises more than ParsingError; healthcheck-unparsable reports it
        return None


def _scripts(test: Sequence[str | Sensitive]) -> list[_Script] | None:
    """The shell text the test runs: the CMD-SHELL command, a CMD shell's -c script, or a CMD argv as
    one command line; None when it cannot be parsed."""
    kind, argv = reveal(test[0]), [reveal(item) for item in test[1:]]
    if kind == "CMD-SHELL":
        text = argv[0]
    elif kind == "CMD":
        script = _dash_c(argv)
        if script is None:
            return [_Script(shlex.join(argv), argv=tuple(argv))]
        text = script
    else:
        return None
    if not text.strip():
        return None
    parsed = _parse(text)
    return None if parsed is None else [parsed]


def _dash_c(argv: Sequence[str]) -> str | None:
    """The script of ``sh -c SCRIPT`` (also bash, busybox sh, /bin/sh -ec …); None for anything else."""
    words = list(argv)
    if words and posixpath.basename(words[0]) == "busybox":
        words = words[1:]
    if not words or posixpath.basename(words[0]) not in SHELLS:
        return None
    for index, word in enumerate(words[1:], 1):
        if word.startswith("-") and "c" in word and not word.startswith("--"):
            rest = [w for w in words[index + 1 :] if not w.startswith("-")]
            return rest[0] if rest else None
        if not word.startswith(("-", "+")):
            return None
    return None


def _literal(word: Any) -> str | None:
    """A word's text when it holds no expansion (known before the shell runs), else None."""
    text = getattr(word, "word", None)
    if text == "$?":
        return "$?"  # the last status: `exit $?` is understood as such
    return text if shell_tree.is_literal(word) else None


def _words(command: Any) -> list[str | None]:
    """A simple command's words after assignments, unwrapped through exec/command/env/timeout/nice/busybox."""
    return _unwrap([_literal(part) for part in getattr(command, "parts", ()) if _kind(part) == "word"])


_WRAPPER_VALUES = frozenset({"-s", "-k", "--signal", "--kill-after", "-n", "--adjustment", "-u", "--unset", "-C", "--chdir"})


def _unwrap(words: list[str | None]) -> list[str | None]:
    while words and words[0] is not None:
        head = posixpath.basename(words[0])
        if head in ("exec", "command", "nohup", "busybox"):
            words = words[1:]
            while head != "busybox" and words and words[0] is not None and words[0].startswith("-"):
                words = words[1:]
        elif head in ("timeout", "nice", "env"):
            words = words[1:]
            while words and words[0] is not None and (words[0].startswith("-") or (head == "env" and "=" in words[0])):
                words = words[2:] if words[0] in _WRAPPER_VALUES else words[1:]
            if head == "timeout" and words:
                words = words[1:]  # the duration
        else:
            break
    return words


# --- cannot fail: the shell's exit status, evaluated over the tree --------------------------------

Outcome = tuple[int, bool]  # (0 success | 1 failure, the script exited here)
OK: Outcome = (0, False)
FAIL: Outcome = (1, False)
EITHER = frozenset({OK, FAIL})
ANYTHING = frozenset({OK, FAIL, (0, True), (1, True)})
_SAFE_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})


class _Status:
    """The possible exit statuses of a script; ``masks`` names what turned a failure into success."""

    def __init__(self, text: str, functions: frozenset[str], depth: int) -> None:
        self.text = text
        self.functions = functions
        self.depth = depth
        self.pipefail = "pipefail" in text
        self.masks: list[tuple[str, str]] = []  # (or | then | pipe | if, what to quote)

    def quote(self, node: Any) -> str:
        start, end = getattr(node, "pos", (0, 0))
        return " ".join(self.text[start:end].split()).rstrip(";& ")

    def sequence(self, nodes: Sequence[Any], incoming: int) -> frozenset[Outcome]:
        outcomes = frozenset({(incoming, False)})
        for node in nodes:
            after = self.then(outcomes, node, run_on=(0, 1))
            if FAIL in outcomes and _succeeds(after):
                self.masks.append(("then", self.quote(node)))
            outcomes = after
        return outcomes

    def then(self, outcomes: frozenset[Outcome], node: Any, run_on: tuple[int, ...]) -> frozenset[Outcome]:
        """``node`` after ``outcomes``, run when the status so far is in ``run_on`` (; && ||)."""
        result: set[Outcome] = set()
        for status, exited in outcomes:
            if exited or status not in run_on:
                result.add((status, exited))
            else:
                result |= self.node(node, status)
        return frozenset(result)

    def node(self, node: Any, incoming: int) -> frozenset[Outcome]:
        kind = _kind(node)
        if kind == "list":
            return self.list(getattr(node, "parts", []), incoming)
        if kind == "pipeline":
            return self.pipeline(node, incoming)
        if kind == "command":
            return self.command(node, incoming)
        if kind == "compound":
            return self.compound(node, incoming)
        if kind == "if":
            return self.if_(node, incoming)
        if kind == "function":
            return frozenset({OK})
        return ANYTHING  # loops, case, …: anything, exit included

    def list(self, parts: Sequence[Any], incoming: int) -> frozenset[Outcome]:
        outcomes = frozenset({(incoming, False)})
        segment_start = outcomes
        operator = ";"
        for part in parts:
            if _kind(part) == "operator":
                operator = part.op
                if operator == "&":  # the and-or list since the last ; runs in the background: status 0
                    outcomes = frozenset({o for o in segment_start if o[1]} | {OK for o in segment_start if not o[1]})
                if operator in (";", "&", "\n"):
                    segment_start = outcomes
                continue
            run_on = (0,) if operator == "&&" else (1,) if operator == "||" else (0, 1)
            after = self.then(outcomes, part, run_on)
            if FAIL in outcomes and operator in ("||", ";", "\n") and _succeeds(after):
                self.masks.append(("or" if operator == "||" else "then", self.quote(part)))
            outcomes = after
        return outcomes

    def pipeline(self, node: Any, incoming: int) -> frozenset[Outcome]:
        parts = getattr(node, "parts", [])
        negate = sum(1 for p in parts if _kind(p) == "reservedword" and getattr(p, "word", "") == "!") % 2 == 1
        elements = [p for p in parts if _kind(p) not in ("pipe", "reservedword")]
        if len(elements) == 1:  # `! cmd` runs cmd in this shell: an exit there ends the script, unnegated
            alone = self.node(elements[0], incoming)
            return frozenset((1 - s if negate and not exited else s, exited) for s, exited in alone)
        statuses = [{status for status, _ in self.node(element, incoming)} for element in elements]
        if not statuses:
            return ANYTHING
        if self.pipefail:
            last = ({1} if any(1 in s for s in statuses) else set()) | ({0} if all(0 in s for s in statuses) else set())
        else:
            last = statuses[-1]
            if last == {0} and any(1 in s for s in statuses[:-1]):
                self.masks.append(("pipe", self.quote(elements[-1])))
        if negate:
            last = {1 - status for status in last}
        return frozenset((status, False) for status in last)

    def command(self, node: Any, incoming: int) -> frozenset[Outcome]:
        parts = getattr(node, "parts", [])
        outcome = self.simple(node, incoming)
        if any(_kind(p) == "redirect" and not _safe_redirect(p) for p in parts):
            outcome = outcome | {FAIL}  # a redirection can fail (a closed port under /dev/tcp, a missing file)
        return outcome

    def simple(self, node: Any, incoming: int) -> frozenset[Outcome]:
        words = _words(node)
        if not words:
            substitutions = any(_kind(n) == "commandsubstitution" for n in _walk(_children(node)))
            return EITHER if substitutions else frozenset({OK})
        name = words[0]
        if name is None:
            return ANYTHING
        base = posixpath.basename(name)
        exec_ = any(_literal(p) == "exec" for p in getattr(node, "parts", ())[:1])
        if "/" not in name and name in self.functions | {"eval", "source", ".", "return"}:
            return ANYTHING
        if base in ("true", ":", "echo") or (base == "cat" and len(words) == 1):
            result = frozenset({OK})  # cat with no file copies its input: it cannot fail either
        elif base == "false":
            result = frozenset({FAIL})
        elif name == "set" and not _sets_errexit(words[1:]):
            result = frozenset({OK})  # set -o pipefail, set -x, …
        elif name == "exit":
            result = _exit(words[1:], incoming)
        elif base in SHELLS and self.depth < _MAX_DEPTH:
            script = _dash_c(words) if all(w is not None for w in words) else None  # type: ignore[arg-type]
            inner = _parse(script) if script is not None else None
            if inner is None or _shell_errexit(words) or _has_errexit(inner.trees):
                return EITHER
            inner_status = _Status(inner.text, shell_tree.function_names(inner.trees), self.depth + 1)
            statuses = {status for status, _ in inner_status.sequence(inner.trees, 0)}
            self.masks += inner_status.masks
            result = frozenset((status, False) for status in statuses)
        else:
            result = EITHER
        return frozenset((status, True) for status, _ in result) if exec_ else result

    def compound(self, node: Any, incoming: int) -> frozenset[Outcome]:
        items = getattr(node, "list", [])
        words = [getattr(i, "word", "") for i in items if _kind(i) == "reservedword"]
        body = [i for i in items if _kind(i) != "reservedword"]
        outcomes = self.sequence(body, incoming)
        if words[:1] == ["("]:
            outcomes = frozenset((status, False) for status, _ in outcomes)
        if any(not _safe_redirect(r) for r in getattr(node, "redirects", []) or []):
            outcomes = outcomes | {FAIL}
        return outcomes

    def if_(self, node: Any, incoming: int) -> frozenset[Outcome]:
        """if C; then T; [elif C; then T;]… [else E;] fi: with no branch taken, the status is 0."""
        branches: list[tuple[Any | None, Any]] = []
        condition: Any | None = None
        keyword = ""
        for part in getattr(node, "parts", []):
            if _kind(part) == "reservedword":
                keyword = part.word
                continue
            if keyword in ("if", "elif"):
                condition = part
            elif keyword == "then":
                branches.append((condition, part))
            elif keyword == "else":
                branches.append((None, part))
        if not branches:
            return ANYTHING
        outcomes: set[Outcome] = set()
        pending = frozenset({(incoming, False)})
        for condition, body in branches:
            if condition is None:
                if pending:
                    outcomes |= self.node(body, 1)  # $? in else is the failed condition's
                pending = frozenset()
                break
            tested = self.then(pending, condition, run_on=(0, 1))
            outcomes |= {o for o in tested if o[1]}
            if any(o == OK for o in tested):
                outcomes |= self.node(body, 0)
            pending = frozenset({FAIL}) if FAIL in tested else frozenset()
        if pending:
            outcomes.add(OK)
            if branches[-1][0] is not None and _succeeds(frozenset(outcomes)):
                self.masks.append(("if", self.quote(branches[-1][0])))
        return frozenset(outcomes)


def _succeeds(outcomes: frozenset[Outcome]) -> bool:
    return bool(outcomes) and all(status == 0 for status, _ in outcomes)


def _exit(args: list[str | None], incoming: int) -> frozenset[Outcome]:
    if not args or args[0] == "$?":
        return frozenset({(incoming, True)})
    if args[0] is not None and args[0].isdigit():
        return frozenset({(0 if int(args[0]) % 256 == 0 else 1, True)})
    return frozenset({(0, True), (1, True)})


def _safe_redirect(node: Any) -> bool:
    """A redirection that cannot fail: to /dev/null (and friends) or a duplicate of a descriptor."""
    target = getattr(node, "output", None)
    if isinstance(target, int):
        return True
    return _literal(target) in _SAFE_TARGETS or (getattr(node, "type", "") in (">&", "<&") and _literal(target) in ("-",))


def _sets_errexit(args: Sequence[str | None]) -> bool:
    """Does ``set ARGS`` turn errexit on (-e, -eu, -o errexit)? Unknown arguments count as yes."""
    for index, arg in enumerate(args):
        if arg is None or (arg.startswith("-") and not arg.startswith("--") and "e" in arg.lstrip("-")):
            return True
        if arg == "-o" and index + 1 < len(args) and args[index + 1] in (None, "errexit"):
            return True
    return False


def _has_errexit(trees: Iterable[Any]) -> bool:
    for node in _walk(trees):
        if _kind(node) == "command":
            words = _words(node)
            if words and words[0] == "set" and _sets_errexit(words[1:]):
                return True
    return False


def _shell_errexit(argv: Sequence[str | None]) -> bool:
    """``sh -e -c …``, ``bash -ec …``: the shell's own options before its script."""
    words = list(argv)
    if words and posixpath.basename(words[0] or "") == "busybox":
        words = words[1:]
    for word in words[1:]:
        if word is None or not word.startswith(("-", "+")):
            return False
        if word.startswith("-") and not word.startswith("--") and "e" in word:
            return True
        if "c" in word:
            return False
    return False


def _cannot_fail(test: Sequence[str | Sensitive], scripts: list[_Script]) -> tuple[str, str] | None:
    """(what makes the check always exit 0, why), or None when it can fail."""
    kind = reveal(test[0])
    argv = [reveal(item) for item in test[1:]]
    if kind == "CMD" and _dash_c(argv) is None:
        program = posixpath.basename(argv[0])
        return ("only", program) if program in ("true", "echo") else None  # exit, :, … are no programs here
    script = scripts[0]
    if (kind == "CMD" and _shell_errexit(argv)) or _has_errexit(script.trees):
        return None  # errexit: a failing command may end the script anywhere; not modelled, so never claimed
    status = _Status(script.text, shell_tree.function_names(script.trees), 0)
    if not _succeeds(status.sequence(script.trees, 0)):
        return None
    return status.masks[-1] if status.masks else ("only", _short(script.text))


_MASKS: dict[str, tuple[str, str]] = {  # how a check is made to succeed: (why it cannot fail, what to write instead)
    "or": (
        "`|| {text}` turns every failure into success",
        "let the probe's status through: write `|| exit 1` instead of `|| {text}`",
    ),
    "then": ("`{text}` runs last, whatever the probe said", "end with the probe, not `{text}`, so its status is the check's"),
    "pipe": (
        "a pipeline's status is its last command's, and `{text}` always succeeds",
        "drop the last pipe (or set -o pipefail under bash) so the probe's status counts",
    ),
    "if": ("an `if` without `else` succeeds when `{text}` fails", "add `else exit 1`, or run the probe alone"),
}
_ONLY = ("`{text}` always succeeds and checks nothing", "probe what the container serves")


def _explain(reason: tuple[str, str]) -> str:
    kind, text = reason
    return _MASKS.get(kind, _ONLY)[0].format(text=_short(text, 40))


def _cannot_fail_remedy(reason: tuple[str, str] | None, own: Mapping[int, str]) -> str:
    kind, text = reason or ("", "")
    return f"{_MASKS.get(kind, _ONLY)[1].format(text=_short(text, 40))}; e.g. {_own_probe(own)}"


def _own_probe(own: Mapping[int, str]) -> str:
    port = str(min(own)) if own else "PORT"
    return f'test: ["CMD-SHELL", "nc -z 127.0.0.1 {port} || exit 1"] (or wget -q --spider http://127.0.0.1:{port}/…)'


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    flat = flat if flat.isprintable() else flat.encode("unicode_escape").decode("ascii")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- process grep ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ProcessCheck:
    written: str  # e.g. "ps aux | grep nginx"
    process: str | None  # the name looked for, when literal
    matches_itself: bool


_GREPS = frozenset({"grep", "egrep", "fgrep"})
_GREP_VALUES = frozenset({"-m", "-A", "-B", "-C", "-f", "--max-count", "--file"})


def _process_grep(scripts: list[_Script]) -> _ProcessCheck | None:
    for script in scripts:
        if script.argv is not None:
            words: list[str | None] = list(script.argv)
            base = posixpath.basename(words[0] or "") if words else ""
            if base in ("pgrep", "pidof") or (base == "ps" and "-C" in words):
                operands = [w for w in _unwrap(words)[1:] if w is not None and not w.startswith("-")]
                return _ProcessCheck(_short(script.text), operands[0] if operands else None, matches_itself=False)
            continue
        status = _Status(script.text, frozenset(), 0)
        for node in _walk(script.trees):
            if _kind(node) == "pipeline":
                found = _ps_pipeline(node, status)
            elif _kind(node) == "command":
                found = _process_command(node, status)
            else:
                continue
            if found is not None:
                return found
    return None


def _ps_pipeline(node: Any, status: _Status) -> _ProcessCheck | None:
    commands = [p for p in getattr(node, "parts", []) if _kind(p) == "command"]
    heads = [_words(c) for c in commands]
    ps_at = next((i for i, w in enumerate(heads) if w and w[0] is not None and posixpath.basename(w[0]) == "ps"), None)
    if ps_at is None:
        return None
    greps = [(c, w) for c, w in zip(commands[ps_at + 1 :], heads[ps_at + 1 :], strict=True) if w and w[0] in _GREPS]
    searches = [(c, w, _grep_pattern(w)) for c, w in greps]
    positive = [(c, w, p) for c, w, p in searches if p is not None and not _inverted(w)]
    if not positive:
        return None
    _, words, (pattern, fixed, ignore_case) = positive[0]
    excluded = any(p is not None and _inverted(w) and "grep" in p[0] for _, w, p in searches)
    own_line = " ".join(w for w in words if w is not None)
    matches_itself = not excluded and _pattern_matches(pattern, own_line, fixed=fixed, ignore_case=ignore_case)
    return _ProcessCheck(
        status.quote(node), pattern if pattern.replace("-", "").replace("_", "").isalnum() else None, matches_itself
    )


def _process_command(node: Any, status: _Status) -> _ProcessCheck | None:
    words = _words(node)
    if not words or words[0] is None:
        return None
    base = posixpath.basename(words[0])
    operands = [w for w in words[1:] if w is not None and not w.startswith("-")]
    if base in ("pgrep", "pidof") or (base == "ps" and "-C" in words[1:]):
        process = operands[0] if operands else None
        return _ProcessCheck(status.quote(node), process, matches_itself=False)
    return None


def _grep_pattern(words: list[str | None]) -> tuple[str, bool, bool] | None:
    """(pattern, fixed string?, ignore case?) of a grep command, None when not literal."""
    fixed = words[0] == "fgrep"
    ignore_case = False
    index = 1
    while index < len(words):
        word = words[index]
        if word is None:
            return None
        if word in ("-e", "--regexp") and index + 1 < len(words):
            pattern = words[index + 1]
            return (pattern, fixed, ignore_case) if pattern is not None else None
        if word in _GREP_VALUES:
            index += 2
            continue
        if word.startswith("-") and len(word) > 1:
            fixed = fixed or word in ("--fixed-strings",) or (not word.startswith("--") and "F" in word)
            ignore_case = ignore_case or word == "--ignore-case" or (not word.startswith("--") and "i" in word)
            index += 1
            continue
        return word, fixed, ignore_case
    return None


def _inverted(words: list[str | None]) -> bool:
    return any(
        w is not None and (w == "--invert-match" or (w.startswith("-") and not w.startswith("--") and "v" in w))
        for w in words[1:]
    )


def _pattern_matches(pattern: str, line: str, *, fixed: bool, ignore_case: bool) -> bool:
    """Does grep's pattern match grep's own command line (as ps shows it)?"""
    if fixed:
        return (pattern.lower() in line.lower()) if ignore_case else pattern in line
    regex = pattern.replace(r"\|", "|").replace(r"\(", "(").replace(r"\)", ")")  # BRE's alternation and groups
    try:
        return re.search(regex, line, re.IGNORECASE if ignore_case else 0) is not None
    except re.error:
        return pattern in line


def _process_lie(check: _ProcessCheck, secret: bool, own: Mapping[int, str]) -> Lie:
    what = f" (`{_short(check.written)}`)" if check.written and not secret else ""
    named = check.process is not None and not secret
    process = check.process if named else "process"
    itself = ""
    if check.matches_itself:
        itself = (
            f"; and grep's own command line contains `{process}`, so it can find itself and pass with {process} gone"
            if named
            else "; and grep can find its own command line and pass with the process gone"
        )
    return Lie(
        PROCESS_GREP,
        f"the healthcheck only looks for a process{what}: a hung {process} (deadlocked, not serving) still passes, and a "
        f"dead main process stops the container anyway{itself}",
        f"probe what it serves, from inside the container: {_own_probe(own)}",
    )


# --- probes of another service ---------------------------------------------------------------------


def _probe_lies(name: str, declared: Declared, probed: tuple[Probe, ...]) -> list[Lie]:
    spec = declared.containers[name]
    own_ports = declared.ports(name)
    own_names = _names(name, spec)
    lies: dict[str, Lie] = {}
    for probe in probed:
        host = probe.host
        named = declared.by_host_name.get(host)
        if named is not None and named != name and host not in own_names:
            owner = named
            lies.setdefault(
                probe.written,
                _other_lie(
                    name,
                    probe,
                    f"{owner}, another container",
                    f"depends_on already waits for {owner}" if owner in spec.depends_on else "",
                ),
            )
        elif host and host not in LOCAL_HOSTS and host not in own_names and not host.startswith("127."):
            lies.setdefault(probe.written, _other_lie(name, probe, f"{host}, another machine", ""))
        elif probe.port is not None and probe.port not in own_ports:
            owners = declared.owners(name, probe.port)
            if owners:
                owner = owners[0]
                where = declared.ports(owner)[probe.port]
                after = f"depends_on already waits for {owner}" if owner in spec.depends_on else ""
                lies.setdefault(probe.written, _other_lie(name, probe, f"{owner}'s port ({where})", after, own_ports))
            elif own_ports:
                listed = ", ".join(f"{port} ({where})" for port, where in sorted(own_ports.items())[:3])
                lies.setdefault(
                    probe.written,
                    Lie(
                        OTHER_SERVICE,
                        f"the healthcheck probes {probe.written}, a port {name} does not publish, expose or listen on "
                        f"(it declares {listed}): it checks something else, or nothing",
                        f"probe a port it declares: {_own_probe(own_ports)}",
                    ),
                )
    return list(lies.values())


def _other_lie(name: str, probe: Probe, what: str, after: str, own: Mapping[int, str] | None = None) -> Lie:
    own = own or {}
    ways = _own_probe(own) if own else (
        "its own port or endpoint, or a heartbeat file its main loop touches, e.g. "
        'test: ["CMD-SHELL", "find /tmp/heartbeat -mmin -1 | grep -q ."]'
    )  # fmt: skip
    return Lie(
        OTHER_SERVICE,
        f"the healthcheck probes {probe.written}, which is {what}, not {name}: it reports that service's health, "
        f"and stays healthy while {name} itself is stuck",
        f"check {name} itself: {ways}" + (f"; {after}" if after else ""),
    )


def _names(name: str, spec: Container) -> frozenset[str]:
    """The host names that reach a container: its name, and container_name/hostname/aliases if declared."""
    names = {name.lower()}
    for attribute in ("container_name", "hostname"):
        value = getattr(spec, attribute, None)
        if isinstance(value, str):
            names.add(value.lower())
    networks = getattr(spec, "networks", None)
    for options in networks.values() if isinstance(networks, Mapping) else ():
        aliases = options.get("aliases") if isinstance(options, Mapping) else getattr(options, "aliases", None)
        names.update(alias.lower() for alias in aliases or () if isinstance(alias, str))
    return frozenset(names)


def probes(script: _Script) -> list[Probe]:
    """The network endpoints a script probes, from literal words only."""
    if script.argv is not None:
        return _command_probes(_unwrap(list(script.argv)))
    found: list[Probe] = []
    for node in _walk(script.trees):
        kind = _kind(node)
        if kind == "redirect":
            target = _literal(getattr(node, "output", None)) if not isinstance(getattr(node, "output", None), int) else None
            if target and (match := _DEV_TCP.match(target)):
                found.append(_probe(match[1], match[2]))
        elif kind == "command":
            found += _command_probes(_words(node))
    return found


def _probe(host: str, port: str | int | None) -> Probe:
    host = host.strip("[]").lower()
    number = int(port) if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else None
    shown = f"[{host}]" if ":" in host else host
    return Probe(host, number, f"{shown or 'localhost'}:{number}" if number is not None else shown or "localhost")


_NC_VALUES = frozenset({"-w", "-i", "-p", "-s", "-q", "-e", "-W", "-X", "-x", "-O", "-I", "-T", "-V", "-m", "-c"})
_CLIENTS = {"redis-cli": ("-h", "-p", 6379), "pg_isready": ("-h", "-p", 5432), "mysqladmin": ("-h", "-P", 3306)}


def _command_probes(words: list[str | None]) -> list[Probe]:
    if not words or words[0] is None:
        return []
    base = posixpath.basename(words[0])
    args = words[1:]
    found: list[Probe] = []
    if base in _INTERPRETERS:
        found += _code_probes(args)
    if base in ("nc", "ncat", "netcat", "telnet"):
        if "-l" in args or any(a is not None and a.startswith("-") and "l" in a and not a.startswith("--") for a in args):
            return []  # a listener, not a probe
        operands: list[str | None] = []
        index = 0
        while index < len(args):
            arg = args[index]
            if arg is not None and arg in _NC_VALUES:
                index += 2
                continue
            if arg is None or not arg.startswith("-"):
                operands.append(arg)
            index += 1
        if len(operands) >= 2 and operands[0] is not None and operands[1] is not None:
            found.append(_probe(operands[0], operands[1]))
    elif base == "socat":
        for arg in args:
            match = re.match(r"(?i)^tcp[46]?(?:-connect)?:([^,]+):(\d+)", arg or "")
            if match:
                found.append(_probe(match[1], match[2]))
    elif base in _CLIENTS:
        host_flag, port_flag, default = _CLIENTS[base]
        host = _option(args, host_flag) or "localhost"
        port = _option(args, port_flag) or str(default)
        if not host.startswith("/"):  # a unix socket directory (pg_isready -h /var/run/postgresql)
            found.append(_probe(host, port))
    for arg in args:
        for match in _URL.finditer(arg or ""):
            found.append(_url_probe(match))
    if base == "curl":
        for arg in args:
            bare = re.match(r"^([A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(\d+)(?:/|$)", arg or "")
            if bare and not (arg or "").startswith("-"):
                found.append(_probe(bare[1], bare[2]))
    return found


_INTERPRETERS = frozenset({"python", "python3", "python2", "node", "ruby", "perl", "php"})
_HOST_IN_CODE = re.compile(r"""\bhost\s*[=:]\s*['"]([A-Za-z0-9_.\-]+)['"]""")
_PORT_IN_CODE = re.compile(r"\bport\s*[=:]\s*(\d{1,5})\b")


def _code_probes(args: list[str | None]) -> list[Probe]:
    """``host='redis', port=6379`` in a ``python -c``/``node -e`` program (the field report's check)."""
    found = []
    for code in (arg for arg in args if arg is not None):
        ports = _PORT_IN_CODE.findall(code)
        for host in _HOST_IN_CODE.findall(code):
            found.append(_probe(host, ports[0] if ports else None))
    return found


def _url_probe(match: re.Match[str]) -> Probe:
    scheme = match[0].split("://", 1)[0].lower()
    netloc = match[1].rpartition("@")[2]
    host, port = netloc, None
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif ":" in netloc:
        host, _, port = netloc.rpartition(":")
    number = int(port) if port and port.isdigit() else _DEFAULT_PORT.get(scheme)
    probe = _probe(host, number)
    return Probe(probe.host, probe.port, f"{scheme}://{match[1].rpartition('@')[2]}")


def _option(args: list[str | None], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg is not None and arg.startswith(flag) and len(arg) > len(flag) and not flag.startswith("--"):
            return arg[len(flag) :]
    return None


# --- what a container declares it listens on --------------------------------------------------------

_LISTEN_WORDS = frozenset({"listen", "bind"})
_PORT_QUALIFIERS = frozenset({"http", "https", "web", "server", "listen", "admin", "metrics", "health", "grpc", "api", "app"})


def declared_ports(spec: Container, image: ImageDeclares | None = None) -> dict[int, str]:
    """Port → where the container declares it (for messages), from its spec and its image."""
    found: dict[int, str] = {}
    for mapping in spec.ports:
        for port in _expose_ports(mapping):  # the container side, whichever form the mapping takes
            found.setdefault(port, f"ports: {mapping}")
    for item in getattr(spec, "expose", None) or ():
        for port in _expose_ports(item):
            found.setdefault(port, f"expose: {port}")
    for where, argv in (("command", spec.command), ("entrypoint", spec.entrypoint)):
        for port, option in _listen_options(argv or ()):
            found.setdefault(port, f"{where} {option}")
    for key, value in spec.environment.items():
        listens = isinstance(value, str) and (key.upper() == "PORT" or "LISTEN" in key.upper())
        if listens and isinstance(value, str) and (number := _port_of(value)) is not None:
            found.setdefault(number, f"environment {key}={value}")
    if image is not None:
        for port in sorted(image.exposed):
            found.setdefault(port, f"image EXPOSE {port}")
        for where, argv, overridden in (("CMD", image.command, spec.command), ("ENTRYPOINT", image.entrypoint, spec.entrypoint)):
            if overridden is None:
                for port, option in _listen_options(argv):
                    found.setdefault(port, f"image {where} {option}")
    return found


def _expose_ports(item: object) -> list[int]:
    """The container ports of a ``ports`` mapping or an ``expose`` item: an object with a
    container_start (and container_end), target or port attribute, or text as compose writes it
    (8080, "8080", "8080/tcp", "8000-8010"); anything else is ignored. Ranges over 1024 count only
    their first port."""
    for attribute in ("container_start", "port", "target"):
        value = getattr(item, attribute, None)
        if isinstance(value, int):
            end = getattr(item, "container_end", value)
            return list(range(value, (end if isinstance(end, int) and end - value <= 1024 else value) + 1))
    match = re.fullmatch(r"(\d+)(?:-(\d+))?(?:/\w+)?", str(item).strip())
    if not match:
        return []
    start, end = int(match[1]), int(match[2] or match[1])
    return list(range(start, end + 1)) if end - start <= 1024 else [start]


def _listen_options(argv: Sequence[str | Sensitive | Unknown]) -> list[tuple[int, str]]:
    """Ports named by listen options: --port 6379, --port=6379, -p 127.0.0.1:8080, --web.listen-address=:9121."""
    found: list[tuple[int, str]] = []
    words = [item if isinstance(item, str) else None for item in argv]
    for index, word in enumerate(words):
        if word is None or not word.startswith("-"):
            continue
        option, equals, value = word.partition("=")
        if not equals:
            value = words[index + 1] if index + 1 < len(words) and words[index + 1] is not None else ""  # type: ignore[assignment]
        if _is_listen_option(option) and (port := _port_of(value)) is not None:
            found.append((port, f"{option} {value}" if not equals else word))
    return found


def _is_listen_option(option: str) -> bool:
    name = option.lstrip("-").lower()
    if name == "p":
        return True
    tokens = [t for t in re.split(r"[-_.]", name) if t]
    if not tokens:
        return False
    if any(t in _LISTEN_WORDS for t in tokens):
        return True
    return tokens[-1] == "port" and all(t in _PORT_QUALIFIERS for t in tokens[:-1])


def _port_of(value: str) -> int | None:
    match = re.fullmatch(r"(?:(?:\[[0-9a-fA-F:]*\]|[A-Za-z0-9.\-]*):)?(\d{1,5})", value.strip())
    if not match:
        return None
    port = int(match[1])
    return port if 0 < port < 65536 else None
