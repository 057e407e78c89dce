"""What SIGTERM and SIGINT do to a command that plans or applies (README: signals).

While nothing has been changed (loading, planning, the confirmation, waiting for or taking the
lock), the first signal ends the command at once: `Interrupted` unwinds it, so the lock it holds is
released; a signal while the lock is being taken or released waits until that is over. Once the
walk begins, the first signal starts nothing new and lets the running steps end, for at most
GRACE_SECONDS; a second signal, or the end of the grace, tells the running steps to stop waiting
at once (a wait ends at its next check; a single engine or AWS call is never cut in half). Either
way the report says what was done, what failed and what was not started, and the lock is released.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from reconciler.clients.crashpoint import DELIVERED
from reconciler.errors import Interrupted

if TYPE_CHECKING:
    from reconciler.kinds.base import RunContext

GRACE_SECONDS = 30.0  # a CI runner or `docker stop` sends SIGKILL after ~10 s, systemd after 90 s
HANDLED = (signal.SIGINT, signal.SIGTERM)


class SignalGuard:
    """Installs the handlers for SIGINT and SIGTERM while a command plans or applies (a context
    manager), in `abort` mode until `graceful()` switches it to the walk's."""

    def __init__(self, say: Callable[[str], None], grace_seconds: float = GRACE_SECONDS) -> None:
        self.say = say
        self.grace_seconds = grace_seconds
        self.received: list[str] = []  # signal names, in order
        self.ctx: RunContext | None = None  # set: graceful mode (the walk's)
        self._deferring = 0
        self._pending: str | None = None
        self._raised = False
        self._timer: threading.Timer | None = None
        self._previous: dict[int, Any] = {}

    @property
    def signal_name(self) -> str:
        return self.received[0] if self.received else ""

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in HANDLED}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        self.received.append(name)
        DELIVERED.set()
        if self.ctx is not None:
            self._graceful_stop(self.ctx, name)
        elif self._deferring or self._raised:
            self._pending = self._pending or name
        else:
            self._raised = True
            raise Interrupted(name)

    def _graceful_stop(self, ctx: RunContext, name: str) -> None:
        if not ctx.stopping.is_set():
            ctx.stopped_by = name
            ctx.stopping.set()
            self._say(
                f"stopping ({name}): no new steps start; the running ones may take up to {self.grace_seconds:g}s "
                "to end (a second signal stops them at once)"
            )
            grace_over = f"the {self.grace_seconds:g}s grace after {name} ran out"
            self._timer = threading.Timer(self.grace_seconds, _abort, (ctx, grace_over))
            self._timer.daemon = True
            self._timer.start()
        elif not ctx.aborting.is_set():
            _abort(ctx, f"a second signal ({name}) stopped the apply at once")
            self._say(f"stopping at once ({name} again): the running steps stop waiting now")

    def _say(self, message: str) -> None:
        """Said from another thread: the handler may have interrupted the main thread in the middle
        of printing, and a print nested in a print can be lost."""
        threading.Thread(target=self.say, args=(message,), daemon=True).start()

    def graceful(self, ctx: RunContext) -> None:
        """From now on (the walk, and what follows it while the lock is held) a signal stops the
        apply gracefully through ``ctx``; one that came while deferred is acted on now."""
        self.ctx = ctx
        if self._pending and not self._raised:
            self._graceful_stop(ctx, self._pending)

    def raise_pending(self) -> None:
        if self._pending and not self._raised and self.ctx is None and not self._deferring:
            self._raised = True
            raise Interrupted(self._pending)

    @contextmanager
    def holding(self, lock: AbstractContextManager[Any]) -> Iterator[None]:
        """Hold ``lock`` for the block; a signal while it is being taken or released is acted on
        once that is over, so that an interrupted command never leaves the lock behind."""
        self._deferring += 1
        try:
            lock.__enter__()
            try:
                self._deferring -= 1
                self.raise_pending()
                yield
            finally:
                self._deferring += 1
                lock.__exit__(None, None, None)
        finally:
            self._deferring -= 1
        self.raise_pending()


def _abort(ctx: RunContext, why: str) -> None:
    if not ctx.aborting.is_set():
        ctx.aborted_because = why
        ctx.aborting.set()
