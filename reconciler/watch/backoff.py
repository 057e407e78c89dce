"""Exponential backoff per failing thing (a step's address, or the plan itself): after the n-th
failure in a row the next try waits interval × 2ⁿ, up to a ceiling; a success forgets it."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DOUBLINGS = 6  # 64 intervals
CEILING_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class Failing:
    failures: int
    next_try: float  # monotonic seconds


class Backoff:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.failing: dict[str, Failing] = {}

    def delay(self, failures: int) -> float:
        doubled: float = self.interval * 2.0 ** min(failures, MAX_DOUBLINGS)
        return min(doubled, max(self.interval, CEILING_SECONDS))

    def failed(self, key: str, now: float) -> float:
        """Count a failure; returns the seconds until the next try."""
        failures = self.failing[key].failures + 1 if key in self.failing else 1
        wait = self.delay(failures)
        self.failing[key] = Failing(failures, now + wait)
        return wait

    def succeeded(self, key: str) -> None:
        self.failing.pop(key, None)

    def waiting(self, key: str, now: float) -> float:
        """Seconds until ``key`` may be tried again (0: now)."""
        failing = self.failing.get(key)
        return max(0.0, failing.next_try - now) if failing else 0.0
