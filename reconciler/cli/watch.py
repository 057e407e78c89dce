"""reconcile watch: plan in a loop and report drift; with --apply, heal it."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from reconciler.cli.app import app, err, out, text
from reconciler.cli.options import Parallelism, StateDir, seconds, state_dir
from reconciler.errors import ReconcileError
from reconciler.startup import long_running_process


@app.command()
def watch(
    directory: StateDir = None,
    interval: Annotated[str, typer.Option("--interval", help="How often to plan, e.g. 5m or 30s.")] = "5m",
    apply_drift: Annotated[
        bool, typer.Option("--apply", help="Heal drift (only at the git commit last applied); default: report only.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus metrics on 127.0.0.1:N (0: any free port)."),
    ] = None,
    parallelism: Parallelism = None,
) -> None:
    """Plan in a loop and report drift; with --apply, heal it. Runs until SIGTERM or Ctrl-C, which
    let the current step finish, release the lock and exit 0."""
    from reconciler.model.load import load_state
    from reconciler.watch import Watcher, WatchMetrics, WatchOptions

    long_running_process()
    every = seconds("--interval", interval)
    if every <= 0:
        raise ReconcileError("--interval: must be more than 0s")
    states = state_dir(directory)
    load_state(states, mode="apply" if apply_drift else "plan")  # an invalid state at start is an error, not a failed round
    metrics = WatchMetrics()
    watcher = Watcher(WatchOptions(states, every, apply_drift, parallelism), lambda line: out.print(text(line)), metrics)

    def stop(_signal: int, _frame: object) -> None:
        watcher.stop()
        err.print(text("stopping: finishing the current step", style="yellow"))

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if metrics_port is not None:
            try:
                port = metrics.serve(metrics_port)
            except OSError as error:
                raise ReconcileError(f"--metrics-port {metrics_port}: cannot listen on 127.0.0.1: {error.strerror}") from None
            err.print(f"serving metrics on http://127.0.0.1:{port}/metrics")
        mode = "heals drift at the commit last applied" if apply_drift else "reports drift only (--apply heals it)"
        err.print(f"watching {states} every {interval}: {mode}")
        watcher.run()
    finally:
        metrics.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err.print("stopped")
