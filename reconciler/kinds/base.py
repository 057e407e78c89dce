"""The Kind protocol (DESIGN.md) and what the engine hands a kind: a run context to observe and
apply with, and a progress sink. Nothing here knows about any particular kind."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from reconciler.clients.backend import Backend, open_backend
from reconciler.clients.journal import RECORD as JOURNAL
from reconciler.clients.journal import Journal
from reconciler.clients.records import Record
from reconciler.errors import ReconcileError, StepNotStarted
from reconciler.model.spec import State
from reconciler.plan.schema import Action, Finding

if TYPE_CHECKING:
    import docker


class Progress(Protocol):
    """Where long work says what it is doing (the CLI draws it; tests collect it)."""

    def __call__(self, address: str, message: str) -> None: ...


def no_progress(address: str, message: str) -> None:
    """A progress sink that shows nothing."""


@dataclass
class RunContext:
    """Everything a kind may use: the desired state, the clock, the clients, a progress sink and
    the stop flags (apply/interrupt.py): `stopping` (the first SIGTERM/SIGINT: start nothing new,
    let the running steps end) and `aborting` (a second signal, or the grace ran out: stop waiting
    now)."""

    state: State
    state_dir: Path
    now: datetime
    progress: Progress = no_progress
    parallelism: int = 10
    stopping: threading.Event = field(default_factory=threading.Event)
    aborting: threading.Event = field(default_factory=threading.Event)
    stopped_by: str = ""  # the signal that set `stopping`, e.g. "SIGTERM"
    aborted_because: str = ""  # why `aborting` was set, said by a step that stopped waiting
    clients: dict[str, Any] = field(default_factory=dict)  # a kind's own connections, by its key
    lock: threading.Lock = field(default_factory=threading.Lock)
    connecting: dict[str, threading.Lock] = field(default_factory=dict)  # one lock per key while its client is made
    unreachable: dict[str, ReconcileError] = field(default_factory=dict)  # keys whose connection failed: not tried twice
    observed: Mapping[str, Mapping[str, Observation]] | None = None  # by kind, set by the planner after observe
    reobserve: Callable[[str], Mapping[str, Observation]] | None = None  # a fresh observe of one kind, set by the planner
    values_wait_for_apply: bool = True  # some variable has no value at plan (LoadedState.unknown); False: none to look for
    request_quota: bool = False  # apply --request-quota: file a quota increase instead of blocking
    wait_for_quota: timedelta | None = None  # apply --wait-for-quota: how long to wait for it to be granted
    backend: Backend | None = None  # where the state's records live (settings.backend), opened on first use
    records: dict[str, Record] = field(default_factory=dict)  # each record read once per run

    def record(self, name: str) -> Record:
        """One of the state's records (clients/backend.py), shared by everything in this run."""
        with self.lock:
            if self.backend is None:
                self.backend = open_backend(self.state.settings, self.state_dir, self.state.aws.region)
            if name not in self.records:
                self.records[name] = Record(self.backend, name)
            return self.records[name]

    def not_started(self, before: str = "") -> StepNotStarted:
        """The error of a step that stops, because the apply is stopping, before it changed anything."""
        return StepNotStarted(f"not started: apply was interrupted ({self.stopped_by or 'stopping'}){before}")

    @property
    def journal(self) -> Journal:
        return Journal(self.record(JOURNAL))

    def docker(self, host: str) -> docker.APIClient:
        """The one Docker client of ``host``, shared by every kind that reads that engine."""
        from reconciler.clients.docker import connect

        spec = self.state.hosts[host]
        client: docker.APIClient = self.client(
            f"docker:{host}", lambda: connect(host, spec, self.parallelism + 2, self.state_dir)
        )
        return client

    def client(self, key: str, connect: Callable[[], Any]) -> Any:
        """One shared connection per key (e.g. one Docker client per host), made on first use;
        connections to different keys are made at once (50 hosts: 50 handshakes in parallel). A
        connection that failed is not tried again in this run: every kind on a host that timed
        out would wait out its deadline once more."""
        with self.lock:
            if key in self.clients:
                return self.clients[key]
            connecting = self.connecting.setdefault(key, threading.Lock())
        with connecting:
            with self.lock:
                if key in self.clients:
                    return self.clients[key]
                if key in self.unreachable:
                    raise self.unreachable[key]
            try:
                made = connect()
            except ReconcileError as error:
                with self.lock:
                    self.unreachable[key] = error
                raise
            with self.lock:
                self.clients[key] = made
            return made

    def close(self) -> None:
        for client in self.clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()
        self.clients.clear()


@dataclass(frozen=True)
class Observation:
    """What a kind saw of one resource. ``digest`` covers what matters for staleness and never a
    secret; ``data`` is the kind's own record, passed back to its diff and apply."""

    digest: str
    data: Any


@dataclass(frozen=True)
class Step:
    """One action to apply, with what the kind needs: the desired spec and the observation."""

    action: Action
    desired: Any | None
    observed: Observation | None


@dataclass
class StepResult:
    ok: bool
    message: str  # what was done, or why it failed


class Kind(Protocol):
    kind: ClassVar[str]  # "container"
    section: ClassVar[str]  # the State attribute holding the desired specs: "containers"

    def observe(self, desired: Mapping[str, Any]) -> Mapping[str, Observation]:
        """Read-only: every declared resource that exists, and every managed one no longer declared."""
        ...

    def diff(self, name: str, desired: Any | None, observed: Observation | None) -> Action:
        """Pure: no I/O."""
        ...

    def findings(self, name: str, desired: Any | None, observed: Observation | None) -> list[Finding]:
        """Pure: what the plan should warn about beyond the action."""
        ...

    def apply(self, step: Step) -> StepResult:
        """Do one action; idempotent; raise nothing a user cannot read (ReconcileError is fine)."""
        ...

    def verify(self) -> Mapping[str, StepResult]:
        """After the walk: steps that reported success but did not hold (by address)."""
        ...


KindFactory = Callable[[RunContext], Kind]
