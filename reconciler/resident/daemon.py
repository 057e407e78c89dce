"""The resident process: imports once what the commands import, listens on the user's own socket
(place.py), and forks a child per command, which takes the client's cwd, environment, umask and
standard streams and runs reconcile's own main() with the client's argv (nothing from the client is
evaluated). One thread: the parent only accepts, checks, forks and reaps.

The parent checks the peer's uid (SO_PEERCRED), the client's fingerprint (other code or another
Python: refused, the client runs in-process; its own files changed: refused, and it exits), and
its groups (the engine's socket may depend on them). It ends after ``idle_seconds`` without a
command, on SIGTERM or SIGINT, or when its code changes, removing its socket; a command already
running goes on to its end."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import io
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from reconciler.errors import ReconcileError
from reconciler.resident import place, wire
from reconciler.resident.client import IN_PROCESS_COMMANDS
from reconciler.resident.preload import preload

HANDSHAKE_SECONDS = 5.0  # a client that does not finish its side by then is dropped
CHECK_SECONDS = 5.0  # how often an idle daemon looks for changed code
STOPPING = (signal.SIGTERM, signal.SIGINT)


class Daemon:
    def __init__(self, idle_seconds: float, say: Callable[[str], None]) -> None:
        self.idle_seconds = idle_seconds
        self.say = say
        self.path = place.socket_path(os.environ)
        self.environ = dict(os.environ)  # as the fingerprint saw it; a child never gets it
        self.fingerprint = ""
        self.children: dict[int, socket.socket] = {}
        self.stop_reason = ""
        self.listener: socket.socket | None = None
        self.lock_fd = -1
        self.wake_r, self.wake_w = -1, -1
        self.streams = _stream_models()

    # --- the parent ------------------------------------------------------------------------------

    def serve(self) -> str:
        """Listens until stopped; returns why it stopped."""
        self._take_place()
        try:
            self.fingerprint = place.fingerprint(self.environ)
            self.say("importing what plan, apply and validate use")
            started = time.monotonic()
            preload()
            gc.collect()
            gc.enable()  # it runs for hours (each command's child turns it off again, startup.py)
            gc.freeze()  # what was imported stays out of the collector's sight: the children's pages stay shared
            self._listen()
            idle = f"stops after {_duration(self.idle_seconds)} without a command" if self.idle_seconds > 0 else "no idle timeout"
            self.say(f"ready on {self.path} (pid {os.getpid()}; loaded in {time.monotonic() - started:.1f} s; {idle})")
            self._loop()
        finally:
            self._leave()
        return self.stop_reason

    def _take_place(self) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        reason = place.untrusted_directory(directory)
        if reason:
            raise ReconcileError(f"the resident process cannot listen there: {reason}")
        if len(os.fsencode(self.path)) > place.SOCKET_MAX:
            raise ReconcileError(f"the socket path {self.path} is too long for a unix socket (set XDG_RUNTIME_DIR)")
        self.lock_fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.lock_fd)
            self.lock_fd = -1
            raise ReconcileError(f"a resident process already listens on {self.path}") from None

    def _listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a daemon killed before it could remove it (we hold the lock)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        listener.listen(64)
        self.listener = listener
        self.socket_inode = os.lstat(self.path).st_ino
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        for number in STOPPING:
            signal.signal(number, self._stop_by_signal)
        signal.signal(signal.SIGCHLD, lambda _number, _frame: None)  # only wakes the loop (the wakeup fd)

    def _stop_by_signal(self, number: int, _frame: FrameType | None) -> None:
        self.stop_reason = self.stop_reason or f"stopped by {signal.Signals(number).name}"

    def _loop(self) -> None:
        assert self.listener is not None
        last_command = checked = time.monotonic()
        while not self.stop_reason:
            now = time.monotonic()
            if self.children:
                last_command = now
            idle_left = last_command + self.idle_seconds - now if self.idle_seconds > 0 else CHECK_SECONDS
            if idle_left <= 0:
                self.stop_reason = f"no command for {_duration(self.idle_seconds)}"
                break
            readable, _, _ = select.select([self.listener.fileno(), self.wake_r], [], [], min(idle_left, CHECK_SECONDS))
            if self.wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self.wake_r, 512):
                        pass
            self._reap()
            if self.listener.fileno() in readable and not self.stop_reason:
                last_command = time.monotonic()
                self._accept()
            if time.monotonic() - checked >= CHECK_SECONDS:
                checked = time.monotonic()
                self._check_code()

    def _check_code(self) -> bool:
        """Is the code on disk still what was loaded? If not, the daemon stops."""
        if place.fingerprint(self.environ) != self.fingerprint:
            self.stop_reason = "its code changed (reconcile or Python was updated): start it again"
            return False
        return True

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.children.pop(pid, None)
            if connection is None:
                continue
            if os.WIFSIGNALED(status):  # it could not say how it ended: the client dies of the same signal
                with contextlib.suppress(OSError):
                    wire.send(connection, {"signal": os.WTERMSIG(status)})
            connection.close()

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            connection.settimeout(HANDSHAKE_SECONDS)
            uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
            if uid != os.getuid():
                return
            lines = wire.Lines(connection)
            message, fds = lines.read_with_fds()
            refused = self._refusal(message, fds)
            if refused:
                wire.send(connection, {"refused": refused})
                return
            wire.send(connection, {"ready": True})
            if lines.read().get("go") is not True:
                return
            pid = os.fork()
            if pid == 0:
                self._child(connection, message, fds)  # never returns
            self.children[pid] = connection
            connection = None  # type: ignore[assignment]  # kept until the child is reaped
        except (OSError, ValueError, wire.Closed):
            pass  # the client runs the command itself, or has gone
        finally:
            for fd in fds:
                os.close(fd)
            if connection is not None:
                connection.close()

    def _refusal(self, message: dict[str, Any], fds: list[int]) -> str:
        if len(fds) != wire.STREAMS or not _well_formed(message):
            return "a malformed request"
        if message["fingerprint"] != self.fingerprint:
            if not self._check_code():
                return "the resident process's code changed under it; it stops"
            return "the resident process runs other code or another Python"
        if message["gid"] != os.getgid() or message["groups"] != sorted(os.getgroups()):
            return "the resident process has other groups than the client"
        if _command(message["argv"]) in IN_PROCESS_COMMANDS:
            return "this command runs in-process"
        return ""

    def _leave(self) -> None:
        if self.listener is not None:
            self.listener.close()
            with contextlib.suppress(OSError):
                if os.lstat(self.path).st_ino == self.socket_inode:  # still ours
                    self.path.unlink()
        for connection in self.children.values():
            connection.close()  # a running command goes on; its client has its exit status from it
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
        signal.set_wakeup_fd(-1)
        for fd in (self.wake_r, self.wake_w):
            if fd >= 0:
                os.close(fd)

    # --- the child -------------------------------------------------------------------------------

    def _child(self, connection: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
        """Takes the client's place and runs its command; exits, never returns into the parent's loop."""
        code = 70  # EX_SOFTWARE: if anything below fails unexpectedly
        try:
            self._forget_parent(connection)
            try:
                _take_client_place(message, fds, self.streams)
            except Exception as error:  # nothing ran: the client runs it itself
                wire.send(connection, {"fallback": f"{type(error).__name__}: {error}"})
                os._exit(0)
            done = threading.Event()
            wire.send(connection, {"pid": os.getpid()})
            threading.Thread(target=_stop_when_client_goes, args=(connection, done), daemon=True).start()
            code = _run_command(message["argv"])
            done.set()
            wire.send(connection, {"exit": code})
        except BaseException:  # nothing may unwind into the parent's frames
            with contextlib.suppress(BaseException):
                traceback.print_exc()
        finally:
            os._exit(code)

    def _forget_parent(self, connection: socket.socket) -> None:
        """The child holds nothing of the parent's: a daemon killed while a command runs leaves no
        listener alive in it (a client would connect and wait forever), nor its lock."""
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.listener is not None:
            self.listener.close()
        for fd in (self.wake_r, self.wake_w, self.lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        for other in self.children.values():
            other.close()
        connection.settimeout(None)
        os.setsid()  # no controlling terminal: the client's terminal is read and written as plain files


def _well_formed(message: dict[str, Any]) -> bool:
    env = message.get("env")
    argv = message.get("argv")
    return (
        isinstance(message.get("fingerprint"), str)
        and isinstance(argv, list) and len(argv) >= 1 and all(isinstance(arg, str) for arg in argv)
        and isinstance(message.get("cwd"), str)
        and isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        and isinstance(message.get("umask"), int)
        and isinstance(message.get("gid"), int)
        and isinstance(message.get("groups"), list)
    )  # fmt: skip


def _command(argv: list[str]) -> str | None:
    return next((arg for arg in argv[1:] if not arg.startswith("-")), None)


StreamModel = tuple[str | None, str | None, bool]  # encoding, errors, write_through (python -u)


def _stream_models() -> dict[int, StreamModel]:
    """How this interpreter made its standard streams (a client's would be made so too: its locale
    and PYTHON* variables are in the fingerprint)."""
    models: dict[int, StreamModel] = {}
    for fd, stream in ((0, sys.__stdin__), (1, sys.__stdout__), (2, sys.__stderr__)):
        if stream is None:
            models[fd] = (None, None, False)
        else:
            models[fd] = (stream.encoding, stream.errors, bool(getattr(stream, "write_through", False)))
    return models


def _take_client_place(message: dict[str, Any], fds: list[int], models: dict[int, StreamModel]) -> None:
    """cwd, environment (exactly the client's), umask and standard streams of the client."""
    os.chdir(message["cwd"])
    os.environ.clear()
    os.environ.update(message["env"])
    time.tzset()  # the C library's time zone, as TZ says
    os.umask(message["umask"])
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    fds.clear()
    streams = {
        "stdin": _text(0, "r", models[0], line_buffering=False),
        "stdout": _text(1, "w", models[1], line_buffering=os.isatty(1)),
        "stderr": _text(2, "w", models[2], line_buffering=True),  # as python makes it
    }
    for name, stream in streams.items():
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _text(fd: int, mode: str, model: StreamModel, line_buffering: bool) -> io.TextIOWrapper:
    encoding, errors, write_through = model
    stream = open(fd, mode, encoding=encoding, errors=errors, closefd=False)  # noqa: SIM115  # the process's own, for its life
    assert isinstance(stream, io.TextIOWrapper)
    stream.reconfigure(line_buffering=line_buffering, write_through=write_through)
    return stream


def _stop_when_client_goes(connection: socket.socket, done: threading.Event) -> None:
    """The client forwards every signal it can catch; if it is gone without one (`kill -9`), the
    command is stopped as SIGTERM stops it, rather than run on unwatched."""
    with contextlib.suppress(OSError):
        while connection.recv(1024):
            pass
    if not done.is_set():
        os.kill(os.getpid(), signal.SIGTERM)


def _run_command(argv: list[str]) -> int:
    """reconcile's main() with the client's argv, and its exit status as the interpreter would make it."""
    from reconciler.cli.app import err_console, out
    from reconciler.cli.main import main

    sys.argv = list(argv)
    for console in (out, err_console):
        console.console = None  # type: ignore[union-attr]  # made on first print, for this client's terminal
    try:
        main()
        code = 0
    except SystemExit as ended:
        code = _exit_status(ended.code)
    except BaseException:  # as the interpreter reports an exception nothing caught
        traceback.print_exc()
        code = 1
    _shut_down()
    return code


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def _shut_down() -> None:
    """What the interpreter does at exit before the process ends: wait for its non-daemon threads,
    run the atexit functions, flush the streams."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        with contextlib.suppress(Exception):
            shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def run(idle_seconds: float, say: Callable[[str], None]) -> str:
    return Daemon(idle_seconds, say).serve()
