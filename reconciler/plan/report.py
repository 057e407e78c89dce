"""The apply report as data: what became of each step. Renderers read this, never the walk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["done", "failed", "skipped", "blocked", "not started"]


@dataclass(frozen=True)
class Outcome:
    address: str
    status: Status
    message: str
    seconds: float = 0.0
