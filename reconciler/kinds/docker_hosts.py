"""Observing a Docker kind on every host at once, the one way the container, network and volume
kinds do: a host that cannot be reached is noted with its cause, so that only its resources are
blocked; and what every labelled Docker kind shares (LabelledDockerKind)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ClassVar

from reconciler.clients.docker import CONNECTION_ERRORS, HOST_UNREACHABLE, DockerUnavailable, explain, shown_url, unreachable
from reconciler.errors import ReconcileError, StepNotStarted
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.kinds.identity import HOST, STATE_LABEL
from reconciler.kinds.ownership import Held, OwnedKind, SeenT, SpecT, held_by_label
from reconciler.model.spec import State

if TYPE_CHECKING:
    import docker


def observe_each_host(
    state: State,
    observe_host: Callable[[str], Mapping[str, Observation]],
    unreachable_hosts: dict[str, str],
    *,
    engine_optional: bool,
    say: Callable[[str], None] = lambda _: None,
    hosts: list[str] | None = None,
) -> dict[str, Observation]:
    """What ``observe_host`` finds on each of the state's hosts (or ``hosts``), all at once. An unreachable host
    goes into ``unreachable_hosts`` (host → the cause, also said) — unless ``engine_optional``: a
    state that declares nothing on its implicit host needs no engine there, and one that does not
    answer holds nothing of ours."""

    def one(host: str) -> Mapping[str, Observation]:
        try:
            return observe_host(host)
        except HOST_UNREACHABLE as error:
            if engine_optional:
                return {}
            unreachable_hosts[host] = (
                str(error) if isinstance(error, DockerUnavailable)
                else unreachable(host, shown_url(state.hosts[host]), error)
            )  # fmt: skip
            say(unreachable_hosts[host])
            return {}

    observed: dict[str, Observation] = {}
    looked_at = list(state.hosts) if hosts is None else hosts
    with ThreadPoolExecutor(max_workers=max(1, len(looked_at))) as pool:
        for seen in pool.map(one, looked_at):
            observed.update(seen)
    return observed


class LabelledDockerKind(OwnedKind[SpecT, SeenT]):
    """A Docker resource that carries reconcile's labels (identity.docker_stamp) and lives on one
    host: networks, volumes. A subclass reads one host (``_observe_host``) and says its own words;
    its seen records have ``owner`` and ``stamped_state`` (identity.owner_of of its labels)."""

    marker: ClassVar[str] = f"label {STATE_LABEL}"
    made: ClassVar[str] = "created"  # what a create step says it did
    removed: ClassVar[str] = "removed"  # what a delete step says it did

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.unreachable: dict[str, str] = {}
        self.unread: dict[str, tuple[str, str]] = {}  # read with its host's listing: always empty

    def client(self, host: str) -> docker.APIClient:
        return self.ctx.docker(host)

    def observe(self, desired: Mapping[str, SpecT]) -> Mapping[str, Observation]:
        return observe_each_host(
            self.ctx.state,
            lambda host: self._observe_host(host, {n: s for n, s in desired.items() if getattr(s, "host", None) == host}),
            self.unreachable,
            engine_optional=self.ctx.state.hosts_implicit and not desired and not self.ctx.state.containers,
        )

    def _observe_host(self, host: str, desired: Mapping[str, SpecT]) -> dict[str, Observation]:
        raise NotImplementedError

    def elsewhere(self, labels: Mapping[str, str], host: str) -> bool:
        """Made under another host entry that reaches the same engine: that entry observes it."""
        return labels.get(HOST, host) != host and labels.get(HOST) in self.ctx.state.hosts

    def held(self, seen: SeenT) -> Held:
        return held_by_label(getattr(seen, "owner", None), getattr(seen, "stamped_state", None))

    def unmanaged_remedy(self, name: str, seen: SeenT) -> str:
        return "declare it with external: true to use it as it is, or remove or rename it"

    def apply(self, step: Step) -> StepResult:
        """The kind's step (``act``); the engine's refusal or silence, or the kind's own error, is the
        step's failure, said."""
        try:
            return self.act(step)
        except StepNotStarted:
            raise  # the walk says it: not started, and why
        except ReconcileError as error:
            return StepResult(False, str(error))
        except CONNECTION_ERRORS as error:  # APIError among them
            return StepResult(False, explain(error))

    def act(self, step: Step) -> StepResult:
        """A delete removes, a create makes, a replace removes then makes; any other action is the
        kind's own (``act_more``)."""
        action = step.action
        seen: SeenT | None = step.observed.data if step.observed else None
        if action.action in ("delete", "replace") and seen is not None:
            self.remove(seen)
            if action.action == "delete":
                return StepResult(True, self.removed)
        if action.action in ("create", "replace"):
            assert step.desired is not None
            self.make(action.name, step.desired)
            return StepResult(True, self.made if action.action == "create" else "replaced")
        return self.act_more(step, seen)

    def remove(self, seen: SeenT) -> None:
        raise NotImplementedError

    def make(self, name: str, spec: SpecT) -> None:
        raise NotImplementedError

    def act_more(self, step: Step, seen: SeenT | None) -> StepResult:
        return StepResult(True, "nothing to do")
