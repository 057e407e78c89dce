"""The signal guard with real signals sent to this process: before the walk a signal ends the
command (Interrupted), during it the first stops new steps, the grace or a second signal aborts."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from reconciler.apply.interrupt import SignalGuard
from reconciler.errors import Interrupted
from reconciler.kinds.base import RunContext
from reconciler.model.spec import State


def context() -> RunContext:
    return RunContext(state=State(), state_dir=Path("."), now=None)  # type: ignore[arg-type]


def test_before_the_walk_a_signal_ends_the_command_with_its_exit_code() -> None:
    def signalled() -> None:
        with SignalGuard(lambda _said: None):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)

    with pytest.raises(Interrupted) as ended:
        signalled()
    assert ended.value.signal_name == "SIGTERM" and ended.value.exit_code == 143


def test_during_the_walk_the_grace_running_out_aborts_the_running_steps() -> None:
    said: list[str] = []
    ctx = context()
    with SignalGuard(said.append, grace_seconds=0.2) as guard:
        guard.graceful(ctx)
        os.kill(os.getpid(), signal.SIGINT)
        assert ctx.stopping.wait(1) and ctx.stopped_by == "SIGINT"
        assert not ctx.aborting.is_set()
        assert ctx.aborting.wait(2)
    assert ctx.aborted_because == "the 0.2s grace after SIGINT ran out"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_during_the_walk_a_second_signal_aborts_at_once() -> None:
    ctx = context()
    with SignalGuard(lambda _said: None) as guard:
        guard.graceful(ctx)
        os.kill(os.getpid(), signal.SIGTERM)
        assert ctx.stopping.wait(1)
        os.kill(os.getpid(), signal.SIGTERM)
        assert ctx.aborting.wait(1)
    assert ctx.aborted_because == "a second signal (SIGTERM) stopped the apply at once"
