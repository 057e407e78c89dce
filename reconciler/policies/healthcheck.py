"""Does the image hold what its healthcheck runs? (SPEC §3.3, `healthcheck-binary-missing`)

Pure: the image is an `ImageView` read from its layers; nothing here runs, opens or prints anything.

- ``["CMD", prog, args…]``: the engine execs ``prog`` directly (the image's ENTRYPOINT does not apply
  to healthchecks, and there is no shell, so ``exit`` or ``[`` are programs here too). ``prog`` must be
  an executable file: an absolute path as is, a relative one (with a ``/``) from the image's workdir,
  a bare name through the image's PATH.
- ``["CMD-SHELL", command]``: the engine runs ``image.shell`` (``/bin/sh -c``) with the command. The
  shell must exist; if it does not, that is the one problem reported (everything else is moot).
  Otherwise the command is parsed with bashlex (a real shell parser) and every external command it
  would run is checked: simple commands, pipelines, lists, subshells, groups, if/while/until/for
  bodies, functions' bodies, ``$(…)``, backticks and ``<(…)``.
- Commands that run another command are followed: ``exec``, ``command`` (not ``-v``/``-V``, which only
  ask), ``eval`` (its literal arguments, parsed again), ``timeout``, ``env``, ``nice``, ``nohup``,
  ``xargs``, ``busybox APPLET …``, and ``sh|bash|ash|dash|… -c 'script'`` (parsed recursively, under
  that shell; ``sh FILE`` checks that FILE exists). A wrapper that is a program is checked itself too.
  Other wrappers (sudo, setsid, stdbuf, …) are checked, what they run is not.
- ``xargs``: checked like any wrapper: xargs itself and the command it runs. Without a command xargs
  runs echo from PATH; that is not checked (busybox xargs may use its own).
- A command word known only at run time (``$CMD``, ``$(…)``, backticks, ``~/x``, a glob) is skipped
  without a problem: a finding for every ``$CMD`` would be noise. Substitutions inside it are checked.
- Shell builtins (``exit``, ``test``, ``[``, ``echo``, ``printf``, ``kill``, ``:``, … — builtins in
  dash, bash and busybox ash alike) and functions the command defines are found. ``X=1 cmd`` skips
  the assignment.
- ``/dev/tcp/HOST/PORT`` and ``/dev/udp/…`` redirections are a bash feature: under any other shell
  (decided by the basename of the shell's resolved path: /bin/sh → /bin/bash is bash, /bin/sh →
  busybox or dash is not) they are reported.
- Parse errors: bashlex refuses real syntax errors but also valid bash it does not model (``[[ … ]]``,
  ``$(( … ))``, ``case``, ``time``), so a refusal cannot tell a broken command from an unusual one.
  It is `healthcheck-unparsable`, severity warning (see SEVERITY): the commands were not checked.
  Nothing here raises.
- Sensitive items are analysed through ``reveal()``, but no message or remedy quotes them: a program
  from a sensitive item is named only when its basename is one of WELL_KNOWN (words from this
  module, not from the secret), and no URL, host, port, path or parser message is taken from one.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
import shlex
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from reconciler.model.sensitive import Sensitive, reveal
from reconciler.policies import shell_tree
from reconciler.policies.image_view import ImageView
from reconciler.policies.shell_tree import children as _children

BINARY_MISSING = "healthcheck-binary-missing"
UNPARSABLE = "healthcheck-unparsable"
SEVERITY: dict[str, Literal["error", "warning"]] = {BINARY_MISSING: "error", UNPARSABLE: "warning"}


@dataclass(frozen=True)
class Problem:
    code: str  # BINARY_MISSING or UNPARSABLE
    message: str  # one line: what is missing, in which image, what the image has instead
    remedy: str  # one line: what to write instead


def healthcheck_problems(test: Sequence[str | Sensitive], image: ImageView) -> list[Problem]:
    """What in ``test`` (a normalised healthcheck test) cannot run in ``image``; [] when all can."""
    if len(test) < 2:
        return []
    analysis = _Analysis(image, _target(test))
    kind = reveal(test[0])
    if kind == "CMD":
        analysis.run([_Word(reveal(item), secret=isinstance(item, Sensitive)) for item in test[1:]], None, 0)
    elif kind == "CMD-SHELL":
        analysis.shell_form(test[1])
    return list(analysis.problems.values())


# --- vocabulary -----------------------------------------------------------------------------------

BUILTINS = frozenset(
    {":", ".", "[", "alias", "bg", "break", "cd", "continue", "echo", "exit", "export", "false", "fg", "getopts", "hash",
     "jobs", "kill", "let", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "source", "test",
     "times", "trap", "true", "type", "ulimit", "umask", "unalias", "unset", "wait"}
)  # fmt: skip
SHELLS = frozenset({"sh", "bash", "ash", "dash", "ksh", "mksh", "zsh", "hush"})
HTTP_TOOLS = frozenset({"curl", "wget", "http", "httpie"})
PORT_TOOLS = frozenset({"nc", "ncat", "netcat", "socat", "telnet"})
WELL_KNOWN = (
    SHELLS | HTTP_TOOLS | PORT_TOOLS
    | {"busybox", "timeout", "env", "nice", "nohup", "xargs", "cat", "grep", "egrep", "pgrep", "pidof", "ps", "test", "ss",
       "netstat", "python", "python3", "node", "redis-cli", "pg_isready", "mysqladmin", "mongosh", "nginx", "php", "java"}
)  # fmt: skip
# the common applets, for "busybox X may serve" (a build may lack some)
_BUSYBOX_APPLETS = frozenset(
    {"awk", "cat", "cut", "date", "df", "du", "env", "expr", "find", "free", "grep", "head", "hostname", "id", "ls", "nc",
     "netstat", "nice", "nohup", "nslookup", "pgrep", "pidof", "ping", "ps", "sed", "sleep", "sort", "stat", "tail", "tee",
     "timeout", "top", "tr", "uniq", "wc", "wget", "which", "xargs"}
)  # fmt: skip
_USEFUL = ("curl", "wget", "nc", "busybox", "bash", "sh", "python3", "python", "node")
_NET_REDIRECT = re.compile(r"/dev/(tcp|udp)/[^/]*/")
_GLOB = re.compile(r"[*?]")
_URL = re.compile(r"https?://[^\s'\"|;&<>()`]+")
_DEV_TCP = re.compile(r"/dev/(?:tcp|udp)/([^/\s'\"]+)/([0-9]+)")
_MAX_DEPTH = 8


@dataclass(frozen=True)
class _Word:
    text: str
    literal: bool = True  # False: holds an expansion, known only at run time
    secret: bool = False  # comes from a Sensitive item: never quoted in a message


@dataclass(frozen=True)
class _Shell:
    """The shell a script runs under: ``written`` for messages, ``kind`` the basename of its real file."""

    written: str
    kind: str
    secret: bool = False
    functions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Target:
    """What the check probes, for suggestions: taken only from non-sensitive items."""

    kind: Literal["http", "port", "unknown"] = "unknown"
    url: str = "URL"
    host: str = "HOST"
    port: str = "PORT"


@dataclass(frozen=True)
class _Lookup:
    path: str | None = None  # the resolved executable
    not_executable: str | None = None  # something is there, but not an executable file
    via_path: bool = False


def _target(test: Sequence[str | Sensitive]) -> _Target:
    text = " ".join(item for item in test[1:] if isinstance(item, str) and item.isprintable())
    if url := _URL.search(text):
        try:
            parts = urllib.parse.urlsplit(url.group())
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return _Target()
        without_credentials = parts._replace(netloc=parts.netloc.rpartition("@")[2])
        return _Target("http", urllib.parse.urlunsplit(without_credentials), parts.hostname or "localhost", str(port))
    if tcp := _DEV_TCP.search(text):
        return _Target("port", host=tcp[1], port=tcp[2])
    return _Target()


def _shown(text: str, secret: bool) -> str | None:
    """``text`` as a message may show it: None when it comes from a secret and is not a well-known name."""
    if not secret:
        return _printable(text)
    base = posixpath.basename(text)
    return base if base in WELL_KNOWN else None


def _printable(text: str, limit: int = 60) -> str:
    """One short line, whatever the command held (newlines, escapes, a page of text)."""
    flat = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _as_test(argv: Sequence[str]) -> str:
    return f"test: {json.dumps(['CMD', *argv])}"


# --- the analysis ---------------------------------------------------------------------------------


@dataclass
class _Analysis:
    image: ImageView
    target: _Target
    problems: dict[tuple[str, str], Problem] = field(default_factory=dict)

    @cached_property
    def names(self) -> frozenset[str]:
        return self.image.names_in_path()

    def add(self, code: str, message: str, remedy: str) -> None:
        self.problems.setdefault((code, message), Problem(code, message, remedy))

    def lookup(self, program: str) -> _Lookup:
        image = self.image
        if "/" in program:
            path = posixpath.normpath(posixpath.join(image.workdir or "/", program))
            resolved = image.resolve(path)
            if resolved is None:
                return _Lookup()
            return _Lookup(path=resolved) if image.is_executable(path) else _Lookup(not_executable=path)
        hit = image.which(program)
        if hit is not None and image.is_executable(hit):
            return _Lookup(path=image.resolve(hit) or hit, via_path=True)
        for directory in image.path:
            candidate = posixpath.join(directory, program)
            if image.resolve(candidate) is not None:
                return _Lookup(not_executable=candidate, via_path=True)
        return _Lookup(via_path=True)

    # --- CMD-SHELL ---

    def shell_form(self, command: str | Sensitive) -> None:
        shell = tuple(reveal(part) for part in self.image.shell) or ("/bin/sh", "-c")
        found = self.lookup(shell[0])
        if found.path is None:
            self.no_shell(shell[0], found)
            return
        scope = _Shell(_printable(shell[0]), posixpath.basename(found.path))
        self.script(reveal(command), isinstance(command, Sensitive), scope, 0)

    def script(self, text: str, secret: bool, shell: _Shell, depth: int) -> None:
        if depth > _MAX_DEPTH or all(not line.strip() or line.strip().startswith("#") for line in text.splitlines()):
            return
        from reconciler.policies.shell_parser import parse  # here, not at start-up: it imports bashlex

        try:
            trees: list[Any] = list(parse(text))
        except Exception as error:  # bashlex raises more than ParsingError (NotImplementedError, AttributeError, …)
            self.unparsable(error, secret)
            return
        functions = shell_tree.function_names(trees)
        scope = _Shell(shell.written, shell.kind, secret or shell.secret, functions)
        for tree in trees:
            self.visit(tree, scope, depth)

    def visit(self, tree: Any, scope: _Shell, depth: int) -> None:
        """Every command and redirection in ``tree``, in order (a loop, not recursion: trees can be deep)."""
        pending = [tree]
        while pending:
            node = pending.pop()
            kind = getattr(node, "kind", None)
            if kind == "command":
                inner = self.command(node, scope, depth)
            elif kind == "redirect":
                inner = self.redirect(node, scope)
            else:
                inner = _children(node)
            pending.extend(reversed(inner))

    def command(self, node: Any, scope: _Shell, depth: int) -> list[Any]:
        """Check one simple command; returns the nodes inside it still to visit ($(…), `…`, <(…))."""
        words: list[_Word] = []
        inner: list[Any] = []
        for part in getattr(node, "parts", ()):
            kind = getattr(part, "kind", None)
            if kind == "word" or (kind == "assignment" and words):
                words.append(_word(part, scope.secret))
            inner += self.redirect(part, scope) if kind == "redirect" else _children(part)
        self.run(words, scope, depth)
        return inner

    def redirect(self, node: Any, scope: _Shell) -> list[Any]:
        target = getattr(node, "output", None)
        if getattr(target, "kind", None) != "word":
            return []
        word = getattr(target, "word", "")
        if isinstance(word, str) and _NET_REDIRECT.match(word) and scope.kind != "bash":
            shown = None if scope.secret else _printable(f"{getattr(node, 'type', '>')} {word}")
            self.needs_bash(shown, scope)
        return _children(target)

    # --- one command, both forms ---

    def run(self, words: list[_Word], scope: _Shell | None, depth: int) -> None:
        """Check the command ``words`` runs, then what it runs in turn; ``scope`` None: no shell (CMD form)."""
        while words:
            head, rest = words[0], words[1:]
            name = head.text
            if not head.literal or not name or _GLOB.search(name):
                return
            if scope is not None and "/" not in name:
                if name in scope.functions:
                    return
                if name == "eval":
                    if rest and all(word.literal for word in rest):
                        secret = any(word.secret for word in rest)
                        self.script(" ".join(word.text for word in rest), secret, scope, depth + 1)
                    return
                if name in _BUILTIN_WRAPPERS:
                    words = _BUILTIN_WRAPPERS[name](rest)
                    continue
                if name in BUILTINS:
                    return
            found = self.lookup(name)
            if found.path is None:
                self.missing(head, found)
                return
            base = posixpath.basename(name)
            written = _shown(name, head.secret)
            if base == "busybox" and rest and rest[0].literal:
                base, rest = rest[0].text, rest[1:]
                written = f"{written} {base}" if written and base in WELL_KNOWN else None
            if base in SHELLS:
                self.shell_argument(rest, _Shell(written or "the shell", posixpath.basename(found.path)), depth)
                return
            unwrap = _WRAPPERS.get(base)
            if unwrap is None:
                return
            words = unwrap(rest)

    def shell_argument(self, args: list[_Word], shell: _Shell, depth: int) -> None:
        script, is_file = _shell_script(args)
        if script is None or not script.literal:
            return
        if not is_file:
            self.script(script.text, script.secret, shell, depth + 1)
            return
        path = posixpath.normpath(posixpath.join(self.image.workdir or "/", script.text))
        if self.image.resolve(path) is None:
            shown = _shown(script.text, script.secret)
            what = f"the script `{shown}`" if shown else "a script named in the sensitive command"
            self.add(
                BINARY_MISSING,
                f"the healthcheck runs {what} with {shell.written}, but {self.image.image} has no such file",
                "point it at a script the image has, or COPY the script into the image",
            )

    # --- problems ---

    def missing(self, word: _Word, found: _Lookup) -> None:
        image = self.image.image
        shown = _shown(word.text, word.secret)
        what = f"`{shown}`" if shown else "a program named in the sensitive command"
        if found.not_executable is not None:
            path = _printable(found.not_executable)
            where = "" if word.secret else f" ({path})"
            remedy = "make it executable in the image" if word.secret else f"RUN chmod +x {path} in the image"
            self.add(BINARY_MISSING, f"the healthcheck runs {what}, which is in {image}{where} but not executable", remedy)
            return
        lacks = f"{image} does not have it{' in its PATH' if found.via_path else ''}"
        base = posixpath.basename(word.text)
        if base in HTTP_TOOLS or base in PORT_TOOLS:
            hint, remedy = self.network_hint(base, http=base in HTTP_TOOLS)
            if not hint:
                hint = "it has none of curl, wget, nc or busybox"
                remedy = f'add {shown or "it"} to the image, or check with a program it has (or test: ["NONE"])'
        elif shown and base in _BUSYBOX_APPLETS and "busybox" in self.names:
            hint = f"it has busybox, which may provide it: `busybox {posixpath.basename(shown)}`"
            remedy = f"write `busybox {posixpath.basename(shown)}` instead of `{shown}`, or add it to the image"
        else:
            close = "" if word.secret else _close(base, self.names)
            hint = f"it has {close}" if close else ""
            remedy = f"use {close}" if close else f"add {shown or 'it'} to the image, or use a program it has"
        self.add(BINARY_MISSING, f"the healthcheck runs {what}, but {lacks}" + (f"; {hint}" if hint else ""), remedy)

    def network_hint(self, missing: str, *, http: bool) -> tuple[str, str]:
        """``it has X and Y: use `…` or `…``` and a remedy, from what the image has; ("", "") when nothing serves."""
        target, names = self.target, self.names
        options: list[tuple[str, ...]] = []
        if http:
            options += [("curl", "-fsS", "-o", "/dev/null", target.url)] if "curl" in names else []
            options += [("wget", "-q", "--spider", target.url)] if "wget" in names else []
            options += [("busybox", "wget", "-q", "--spider", target.url)] if "busybox" in names else []
            options += [("nc", "-z", target.host, target.port)] if "nc" in names else []
        else:
            options += [("nc", "-z", target.host, target.port)] if "nc" in names else []
            options += [("bash", "-c", f"</dev/tcp/{target.host}/{target.port}")] if "bash" in names else []
            options += [("busybox", "nc", "-z", target.host, target.port)] if "busybox" in names else []
        options = [option for option in options if option[0] != missing]
        if not options:
            return "", ""
        have = list(dict.fromkeys(option[0] for option in options))
        uses = " or ".join(f"`{shlex.join(option)}`" for option in options[:2])
        return f"it has {_and(have)}: use {uses}", _as_test(options[0])

    def needs_bash(self, redirect: str | None, scope: _Shell) -> None:
        what = f"`{redirect}`" if redirect else "a /dev/tcp redirection"
        image = self.image.image
        if posixpath.basename(scope.written) == scope.kind:
            shell = f"the shell in {image} is {scope.written}"
        else:
            shell = f"{scope.written} in {image} is {scope.kind}"
        hint, remedy = self.network_hint("", http=False)
        if not hint:
            hint, remedy = "it has no nc, bash or busybox", 'probe the port from outside the container, or test: ["NONE"]'
        self.add(BINARY_MISSING, f"{what} needs bash, but {shell}; {hint}", remedy)

    def no_shell(self, shell: str, found: _Lookup) -> None:
        image = self.image.image
        state = "is not executable" if found.not_executable else "is missing"
        names = sorted(self.names, key=lambda name: (name not in _USEFUL, name))
        has = (
            f"its PATH has {', '.join(_printable(name) for name in names[:6])}{' …' if len(names) > 6 else ''}"
            if names
            else "its PATH holds no programs"
        )
        hint, remedy = self.network_hint("", http=self.target.kind == "http")
        if self.target.kind == "unknown" or not hint:
            remedy = (
                'test: ["CMD", "/path/to/program", …] with a program the image has, or test: ["NONE"]'
                if names
                else 'test: ["CMD", …] with a program the image has (none is in its PATH), or test: ["NONE"]'
            )
        self.add(
            BINARY_MISSING,
            f"{image} has no shell ({_printable(shell)} {state}): only the CMD form can work there; {has}",
            remedy,
        )

    def unparsable(self, error: Exception, secret: bool) -> None:
        reason = "" if secret else f" ({_one_line(error)})"
        self.add(
            UNPARSABLE,
            f"the healthcheck command could not be parsed{reason}, so the programs it runs were not checked",
            "fix the syntax, or if it is valid (bashlex does not model [[ ]], $(( )), case or time), "
            'move it into a script in the image and run that: ["CMD", "/path/to/script"]',
        )


def _one_line(error: Exception) -> str:
    return _printable(" ".join(str(error).split()) or type(error).__name__, 80)


def _close(name: str, names: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=2, cutoff=0.75)
    return " or ".join(f"`{_printable(option)}`" for option in close)


# --- bashlex trees --------------------------------------------------------------------------------


def _word(node: Any, secret: bool) -> _Word:
    text = getattr(node, "word", "")
    literal = shell_tree.is_literal(node)
    return _Word(text if isinstance(text, str) else "", literal, secret)


# --- commands that run a command ------------------------------------------------------------------


def _skip_options(args: list[_Word], with_value: frozenset[str], stop: Callable[[str], bool] = lambda _: False) -> int | None:
    """Index of the first operand after options (``--`` ends them); None when ``stop`` says give up."""
    index = 0
    while index < len(args) and args[index].literal:
        text = args[index].text
        if text == "--":
            return index + 1
        if stop(text):
            return None
        if text in with_value:
            index += 2
        elif text.startswith("-") and len(text) > 1:
            index += 1
        else:
            break
    return index


def _after_timeout(args: list[_Word]) -> list[_Word]:
    index = _skip_options(args, frozenset({"-s", "-k", "-t", "--signal", "--kill-after"}))
    if index is None:
        return []
    options = [word.text for word in args[:index]]
    old_busybox = any(text == "-t" or (text.startswith("-t") and not text.startswith("--")) for text in options)
    return args[index if old_busybox else index + 1 :]


def _after_env(args: list[_Word]) -> list[_Word]:
    index = _skip_options(args, frozenset({"-u", "--unset", "-C", "--chdir"}), lambda t: t.startswith(("-S", "--split-string")))
    if index is None:
        return []
    while index < len(args) and "=" in args[index].text.lstrip("="):
        index += 1
    return args[index:]


def _after_options(with_value: frozenset[str]) -> Callable[[list[_Word]], list[_Word]]:
    def after(args: list[_Word]) -> list[_Word]:
        index = _skip_options(args, with_value)
        return [] if index is None else args[index:]

    return after


def _after_command(args: list[_Word]) -> list[_Word]:
    index = _skip_options(args, frozenset(), lambda t: t.startswith("-") and ("v" in t or "V" in t))
    return [] if index is None else args[index:]


_XARGS_VALUES = frozenset(
    {"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter", "--eof", "--replace", "--max-lines",
     "--max-args", "--max-procs", "--max-chars", "--process-slot-var"}
)  # fmt: skip
_WRAPPERS: dict[str, Callable[[list[_Word]], list[_Word]]] = {
    "timeout": _after_timeout,
    "env": _after_env,
    "nice": _after_options(frozenset({"-n", "--adjustment"})),
    "nohup": _after_options(frozenset()),
    "xargs": _after_options(_XARGS_VALUES),
}
_BUILTIN_WRAPPERS: dict[str, Callable[[list[_Word]], list[_Word]]] = {
    "exec": _after_options(frozenset({"-a"})),
    "command": _after_command,
}


def _shell_script(args: list[_Word]) -> tuple[_Word | None, bool]:
    """The script a shell's arguments name: (the -c string, False), (a script file, True) or (None, False)."""
    dash_c = reads_stdin = False
    index = 0
    while index < len(args) and args[index].literal:
        text = args[index].text
        if text == "--":
            index += 1
            break
        if text in ("-o", "+o", "-O", "+O"):
            index += 2
        elif text.startswith("--"):
            index += 1
        elif len(text) > 1 and text[0] in "-+":
            dash_c = dash_c or (text[0] == "-" and "c" in text)
            reads_stdin = reads_stdin or (text[0] == "-" and "s" in text)
            index += 1
        else:
            break
    if index >= len(args) or (reads_stdin and not dash_c):
        return None, False
    return args[index], not dash_c
