"""What `reconcile watch` tells Prometheus, served on a loopback port (prometheus_client). Each
watcher has its own registry, so nothing of the process's global one leaks in or out."""

from __future__ import annotations

import threading
import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from reconciler.plan.schema import ACTION_KINDS, Plan

LOOPBACK = "127.0.0.1"


class WatchMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.drift = Gauge("reconcile_drift_resources", "Resources whose plan is not noop, or is blocked", registry=registry)
        self.actions = Gauge("reconcile_plan_actions", "Actions in the last plan, by kind", ["action"], registry=registry)
        self.blocked = Gauge("reconcile_blocked_actions", "Actions in the last plan that cannot run now", registry=registry)
        self.last_plan = Gauge("reconcile_last_plan_timestamp_seconds", "When the last plan ended (Unix time)", registry=registry)
        self.plan_duration = Gauge("reconcile_plan_duration_seconds", "How long the last plan took", registry=registry)
        self.plan_errors = Counter("reconcile_plan_errors", "Rounds whose plan could not be made", registry=registry)
        self.findings = Gauge("reconcile_findings", "Findings of the last plan", ["code", "severity"], registry=registry)
        self.unhealthy = Gauge("reconcile_unhealthy_containers", "Running containers whose healthcheck fails", registry=registry)
        self.applied_steps = Counter("reconcile_applied_steps", "Steps the watcher applied successfully", registry=registry)
        self.apply_failures = Counter("reconcile_apply_failures", "Steps the watcher applied that failed", registry=registry)
        self.refused = Counter(
            "reconcile_apply_refused", "Rounds with drift the watcher would not apply", ["reason"], registry=registry
        )
        self.backing_off = Gauge("reconcile_backoff_resources", "Failing steps waiting for their next try", registry=registry)
        self.last_apply = Gauge(
            "reconcile_last_apply_timestamp_seconds", "When the watcher last applied successfully (Unix time)", registry=registry
        )
        self.rounds = Counter("reconcile_watch_rounds", "Rounds the watcher ran", registry=registry)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, port: int) -> int:
        """Serve /metrics on 127.0.0.1:port (0: any free port); returns the port."""
        server, thread = start_http_server(port, addr=LOOPBACK, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def planned(self, plan: Plan, seconds: float) -> None:
        drifted = [a for a in plan.actions if a.is_change or a.blocked is not None]
        self.drift.set(len(drifted))
        for kind in ACTION_KINDS:
            self.actions.labels(action=kind).set(sum(1 for a in plan.actions if a.action == kind))
        self.blocked.set(sum(1 for a in plan.actions if a.blocked is not None))
        self.last_plan.set(time.time())
        self.plan_duration.set(seconds)
        self.findings.clear()
        for finding in plan.findings:
            self.findings.labels(code=finding.code, severity=finding.severity).inc()
        self.unhealthy.set(sum(1 for f in plan.findings if f.code == "unhealthy"))
