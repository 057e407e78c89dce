"""The apply walk: dependency order, the parallelism bound, failures skip only their dependants
(naming the root cause), and a stop lets running steps end but starts nothing new."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.apply.graph import build_graph
from reconciler.apply.walk import walk
from reconciler.errors import ReconcileError
from reconciler.kinds.base import StepResult
from reconciler.plan.report import Outcome
from reconciler.plan.schema import Action


def run_walk(
    graph: dict[str, list[str]], run, parallelism: int = 10, stopping: threading.Event | None = None
) -> tuple[dict[str, Outcome], list[str]]:  # type: ignore[no-untyped-def]
    started: list[str] = []
    lock = threading.Lock()

    def on_start(address: str) -> None:
        with lock:
            started.append(address)

    outcomes = walk(graph, run, parallelism, stopping or threading.Event(), on_start, lambda _o: None)
    return outcomes, started


def test_dependencies_finish_before_dependants_start() -> None:
    finished: list[str] = []

    def run(address: str) -> StepResult:
        time.sleep(0.01)
        finished.append(address)
        return StepResult(True, "ok")

    graph = {"c.db": [], "c.cache": [], "c.api": ["c.db", "c.cache"], "c.web": ["c.api"]}
    outcomes, started = run_walk(graph, run)
    assert all(o.status == "done" for o in outcomes.values())
    assert started.index("c.api") > max(finished.index("c.db"), finished.index("c.cache"))
    assert started.index("c.web") > finished.index("c.api")


def test_independent_steps_run_in_parallel_up_to_the_bound() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def run(address: str) -> StepResult:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return StepResult(True, "ok")

    run_walk({f"c.{i}": [] for i in range(12)}, run, parallelism=4)
    assert peak == 4


def test_a_failure_skips_only_its_dependants_and_names_the_root_cause() -> None:
    def run(address: str) -> StepResult:
        if address == "c.db":
            raise ReconcileError("image db:1 could not be pulled")
        return StepResult(True, "ok")

    graph = {"c.db": [], "c.api": ["c.db"], "c.web": ["c.api"], "c.other": []}
    outcomes, _ = run_walk(graph, run)
    assert outcomes["c.db"].status == "failed"
    assert outcomes["c.db"].message == "image db:1 could not be pulled"
    assert outcomes["c.api"].status == "skipped"
    assert outcomes["c.web"].status == "skipped"
    assert "c.db" in outcomes["c.web"].message  # the root cause, not c.api
    assert outcomes["c.other"].status == "done"


def test_a_bug_in_a_step_is_that_steps_failure_without_the_exception_text() -> None:
    def run(address: str) -> StepResult:
        raise KeyError("secret-ish detail")

    outcomes, _ = run_walk({"c.a": []}, run)
    assert outcomes["c.a"].status == "failed"
    assert "KeyError" in outcomes["c.a"].message
    assert "secret-ish" not in outcomes["c.a"].message


def test_a_stop_lets_running_steps_end_and_starts_nothing_new() -> None:
    stopping = threading.Event()

    def run(address: str) -> StepResult:
        stopping.set()
        time.sleep(0.05)
        return StepResult(True, "ok")

    outcomes, started = run_walk({"c.a": [], "c.b": ["c.a"], "c.c": ["c.b"]}, run, stopping=stopping)
    assert started == ["c.a"]
    assert outcomes["c.a"].status == "done"
    assert outcomes["c.b"].status == "not started"
    assert outcomes["c.c"].status == "not started"


def action(address: str, kind: str = "create", depends_on: list[str] | None = None) -> Action:
    return Action(address=address, type="container", action=kind, observed_digest="sha256:x", depends_on=depends_on or [])  # type: ignore[arg-type]


def test_the_graph_holds_only_changes_and_drops_edges_to_what_is_already_in_place() -> None:
    graph = build_graph([action("c.db", "noop"), action("c.api", depends_on=["c.db"]), action("c.web", "update", ["c.api"])])
    assert graph == {"c.api": [], "c.web": ["c.api"]}


def test_the_graph_refuses_a_cycle() -> None:
    with pytest.raises(ReconcileError, match=r"dependency cycle: c\.a → c\.b → c\.a"):
        build_graph([action("c.a", depends_on=["c.b"]), action("c.b", depends_on=["c.a"])])
