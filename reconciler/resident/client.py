"""The console script (`reconcile`): hands the command to a resident process if one answers, else
runs it here, as before. Standard library only until it falls back: a command through the daemon
pays Python's start-up and this module, not typer, pydantic or the docker SDK.

Through the daemon: the client sends argv, cwd, umask, its whole environment and its standard
streams; the daemon forks a child that takes them and runs reconcile's own main(). The child's pid
comes back first, so SIGINT, SIGTERM, SIGHUP and SIGQUIT on the client are sent on to it (apply's
interrupt handling works as in-process), then its exit status, which the client exits with (or the
signal that killed it, which the client then dies of too). No daemon, a socket that is not the
user's alone, a daemon of other code, or any failure before the child commits → in-process,
silently (`--debug` says why). Never both: once the client has said "go" it only waits.
`reconcile daemon` and `reconcile watch` always run in-process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import sys
from types import FrameType
from typing import NoReturn

from reconciler.resident import place, wire

IN_PROCESS_COMMANDS = frozenset({"daemon", "watch"})
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
HANDSHAKE_SECONDS = 5.0  # a daemon that does not answer by then (stopped, swamped) is not used


def main() -> None:
    code = through_daemon(sys.argv)
    if code is None:
        from reconciler.cli import main as in_process

        in_process()
    sys.exit(code)


def command_of(argv: list[str]) -> str | None:
    return next((arg for arg in argv[1:] if not arg.startswith("-")), None)


def through_daemon(argv: list[str]) -> int | None:
    """The command's exit status, run by a resident process; None when it must run here."""
    if command_of(argv) in IN_PROCESS_COMMANDS:
        return None
    path = place.socket_path(os.environ)
    reason = place.untrusted_socket(path)
    if reason:
        return _not_used(argv, reason, quiet=not os.path.lexists(path))
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(HANDSHAKE_SECONDS)
        connection.connect(str(path))
        peer_uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if peer_uid != os.getuid():
            connection.close()
            return _not_used(argv, f"{path} is served by uid {peer_uid}")
        lines = wire.Lines(connection)
        wire.send(connection, request(argv), fds=[0, 1, 2])
        answer = lines.read()
        if "ready" not in answer:
            connection.close()
            return _not_used(argv, f"the resident process refused: {answer.get('refused', answer)}")
    except (OSError, ValueError, wire.Closed) as error:  # no daemon, a stale socket, a daemon gone quiet
        return _not_used(argv, f"{path}: {error}")
    return _run(connection, lines, argv)


def request(argv: list[str]) -> dict[str, object]:
    umask = os.umask(0o022)
    os.umask(umask)
    return {
        "fingerprint": place.fingerprint(os.environ),
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": umask,
        "gid": os.getgid(),
        "groups": sorted(os.getgroups()),
    }


def _run(connection: socket.socket, lines: wire.Lines, argv: list[str]) -> int | None:
    """Says go, forwards signals to the child once its pid is known, and returns its exit status."""
    child: list[int] = []
    pending: list[int] = []

    def forward(number: int, _frame: FrameType | None) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child[0], number)
        else:
            pending.append(number)

    previous = {number: signal.signal(number, forward) for number in FORWARDED}

    def in_process_after_all(reason: str) -> int | None:
        """Nothing ran: the command runs here, with this process's own signal handling back."""
        connection.close()
        for forwarded, handler in previous.items():
            signal.signal(forwarded, handler)
        if pending:  # stopped while the daemon was deciding: stop, as the command would have
            _die_of(pending[0])
        return _not_used(argv, reason)

    try:
        wire.send(connection, {"go": True})
        connection.settimeout(None)
        started = lines.read()
        if "pid" not in started:  # the child did not take the command
            return in_process_after_all(f"the resident process could not run it: {started.get('fallback', started)}")
        child.append(int(started["pid"]))
        for number in pending:
            forward(number, None)
        while True:
            ended = lines.read()
            if "exit" in ended:
                return int(ended["exit"])
            if "signal" in ended:
                _die_of(int(ended["signal"]))
    except (OSError, ValueError, wire.Closed):
        if not child:  # the daemon went away before its child committed
            return in_process_after_all("the resident process ended before the command started")
        sys.stderr.write(
            "reconcile: the resident process running this command was stopped before it could say how "
            "the command ended; run `reconcile plan` to see where things stand\n"
        )
        return 1


def _die_of(number: int) -> NoReturn:
    """The child was killed by signal ``number``: so is this process, as the shell expects."""
    sys.stdout.flush()
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    sys.exit(128 + number)  # a signal whose default is not to end the process


def _not_used(argv: list[str], reason: str, quiet: bool = False) -> int | None:
    if "--debug" in argv and not quiet:
        sys.stderr.write(f"debug: not through the resident process: {reason}\n")
    return None
