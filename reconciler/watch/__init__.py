"""`reconcile watch`: the loop (loop.py), its backoff (backoff.py) and its Prometheus metrics (metrics.py)."""

from reconciler.watch.loop import Watcher, WatchOptions
from reconciler.watch.metrics import WatchMetrics

__all__ = ["WatchMetrics", "WatchOptions", "Watcher"]
