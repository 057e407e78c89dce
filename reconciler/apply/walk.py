"""A bounded parallel walk of the apply graph (after Terraform's dag walk): a step starts when
everything it waits for is done; the dependants of a failed step are skipped and name only the
root cause; once `stopping` is set nothing new starts and what runs is let finish."""

from __future__ import annotations

import graphlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reconciler.errors import ReconcileError, StepNotStarted, explain_os_error
from reconciler.kinds.base import StepResult
from reconciler.plan.report import Outcome


def _timed(run: Callable[[str], StepResult], address: str) -> Outcome:
    started = time.monotonic()
    try:
        result = run(address)
    except StepNotStarted as error:
        return Outcome(address, "not started", str(error), time.monotonic() - started)
    except ReconcileError as error:
        return Outcome(address, "failed", str(error), time.monotonic() - started)
    except OSError as error:  # a file of the state (a full disk) or a connection: said as it is
        return Outcome(address, "failed", explain_os_error(error), time.monotonic() - started)
    except Exception as error:  # a bug in a kind: reported as this step's failure, the walk goes on
        logging.getLogger(__name__).debug("%s: internal error", address, exc_info=True)  # shown with --debug
        return Outcome(
            address, "failed", f"internal error ({type(error).__name__}); re-run with --debug", time.monotonic() - started
        )
    return Outcome(address, "done" if result.ok else "failed", result.message, time.monotonic() - started)


def walk(
    graph: dict[str, list[str]],
    run: Callable[[str], StepResult],
    parallelism: int,
    stopping: threading.Event,
    on_start: Callable[[str], None],
    on_end: Callable[[Outcome], None],
    stopped_by: Callable[[], str] = lambda: "",
) -> dict[str, Outcome]:
    """``stopped_by``: the signal that set ``stopping`` (said by each step not started)."""
    order = graphlib.TopologicalSorter(graph)
    order.prepare()
    dependants: dict[str, list[str]] = {address: [] for address in graph}
    for address, deps in graph.items():
        for dep in deps:
            dependants[dep].append(address)
    outcomes: dict[str, Outcome] = {}
    ready = deque(order.get_ready())
    running: dict[Future[Outcome], str] = {}

    def skip_dependants(root: str, failed: str) -> None:
        for dependant in dependants[failed]:
            if dependant not in outcomes:
                outcomes[dependant] = Outcome(dependant, "skipped", f"not applied: it depends on {root}, which failed")
                on_end(outcomes[dependant])
                skip_dependants(root, dependant)

    def start_ready(pool: ThreadPoolExecutor) -> None:
        while ready and not stopping.is_set():
            if ready[0] in outcomes:  # skipped: it was reported when its dependency failed
                order.done(ready.popleft())
                ready.extend(order.get_ready())
            elif len(running) < parallelism:
                address = ready.popleft()
                on_start(address)
                running[pool.submit(_timed, run, address)] = address
            else:
                return

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        start_ready(pool)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED, timeout=0.5)
            for future in finished:
                address = running.pop(future)
                outcome = outcomes[address] = future.result()
                on_end(outcome)
                if outcome.status != "done":
                    skip_dependants(address, address)
                order.done(address)
            ready.extend(order.get_ready())
            start_ready(pool)
    for address in graph:
        if address not in outcomes:
            why = f" ({stopped_by()})" if stopped_by() else ""
            outcomes[address] = Outcome(address, "not started", f"not started: apply was interrupted{why}")
            on_end(outcomes[address])
    return outcomes
