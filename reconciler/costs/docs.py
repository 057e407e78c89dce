"""One cost doc: its new text from the cost report and its text now (pure), and how it differs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from reconciler.costs.figures import marker_values, snapshot
from reconciler.costs.generated import embedded_figures, render_generated
from reconciler.costs.markers import current_values, rewrite_markers
from reconciler.costs.model import CostReport
from reconciler.errors import ReconcileError
from reconciler.model.spec import CostDoc


@dataclass(frozen=True)
class RenderedDoc:
    path: str  # as declared: relative to the repository
    before: str | None  # the file now (None: it does not exist)
    after: str

    @property
    def stale(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff a reader (and `patch`) understands; '' when current."""
        before = (self.before or "").splitlines(keepends=True)
        after = self.after.splitlines(keepends=True)
        source = f"a/{self.path}" if self.before is not None else "/dev/null"
        lines = difflib.unified_diff(before, after, fromfile=source, tofile=f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def render_doc(doc: CostDoc, before: str | None, report: CostReport, source_dir: str) -> RenderedDoc:
    """Raises ConfigError for an unknown marker key (at its line), ReconcileError for a markers doc
    that does not exist."""
    if doc.mode == "markers":
        if before is None:
            raise ReconcileError(f"{doc.path}: no such file; a cost doc with mode: markers must exist (write its markers first)")
        return RenderedDoc(doc.path, before, rewrite_markers(before, marker_values(report), doc.path))
    newline = "\r\n" if before is not None and "\r\n" in before else "\n"
    return RenderedDoc(doc.path, before, render_generated(report, before, source_dir, newline))


def stale_figures(doc: CostDoc, before: str | None, report: CostReport) -> list[str]:
    """What the doc says that is no longer true, as `KEY: says X, now Y` (markers) or
    `ADDRESS FIELD: X → Y` (generated)."""
    if before is None:
        return ["the doc does not exist yet"]
    if doc.mode == "markers":
        now = marker_values(report)
        said = current_values(before, doc.path)
        return [f"{key} says {said[key]!r}, now {now[key]!r}" for key in sorted(said) if key in now and said[key] != now[key]]
    figures, _ = embedded_figures(before)
    if figures is None:
        return ["the doc holds no figures written by reconcile"]
    fresh = snapshot(report)
    stale = []
    for address in sorted(set(figures) | set(fresh)):
        old, new = figures.get(address, {}), fresh.get(address, {})
        stale += [
            f"{address} {key}: {old.get(key)} → {new.get(key)}"
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
    return stale
