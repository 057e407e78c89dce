"""Cost docs (SPEC §1.6) as plan actions: `cost_doc.PATH` is `create`, `update` (its change is the
unified diff) or `noop`. The text comes from the cost model over the desired state and the markets
that really run, which this kind reads from the EC2 kind's observations by duck typing (through the
RunContext the planner fills), never by importing it. Apply writes after every ec2_instance and
s3_bucket step and looks at the instances afresh first, so a doc tells the market that launched."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from reconciler.costs.catalog import catalog_for
from reconciler.costs.docs import RenderedDoc, render_doc, stale_figures
from reconciler.costs.model import CostReport, Facts, cost_report, facts_from
from reconciler.costs.money import usd
from reconciler.errors import ReconcileError
from reconciler.kinds.base import Observation, RunContext, Step, StepResult
from reconciler.model.refs import repository_root
from reconciler.model.spec import CostDoc
from reconciler.plan.digest import ABSENT, digest_bytes
from reconciler.plan.schema import Action, ActionKind, Change, Finding

INFRASTRUCTURE = ("ec2_instance", "s3_bucket")
SHOWN_STALE = 5


@dataclass(frozen=True)
class SeenDoc:
    text: str | None  # decoded from the file's bytes as they are; None: no such file


def _records(observed: Mapping[str, Observation] | None) -> dict[str, Any] | None:
    return None if observed is None else {name: seen.data for name, seen in observed.items()}


class CostDocKind:
    kind: ClassVar[str] = "cost_doc"
    section: ClassVar[str] = "cost_docs_by_path"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.root = repository_root(ctx.state_dir)
        self.catalog = catalog_for(ctx.state.prices)
        self.fresh: Facts | None = None  # what runs after the infrastructure steps (apply)
        self.fresh_lock = threading.Lock()

    def file(self, path: str) -> Path:
        return self.root / path

    def source_dir(self) -> str:
        state_dir = self.ctx.state_dir.resolve()
        return state_dir.relative_to(self.root).as_posix() if state_dir.is_relative_to(self.root) else str(self.ctx.state_dir)

    # --- observe ----------------------------------------------------------------------------

    def observe(self, desired: Mapping[str, CostDoc]) -> Mapping[str, Observation]:
        observed = {}
        for path in desired:
            try:
                content = self.file(path).read_bytes()
            except FileNotFoundError:
                continue
            except OSError as error:
                raise ReconcileError(f"cost doc {path}: cannot read it: {error.strerror}") from None
            try:
                observed[path] = Observation(digest_bytes(content), SeenDoc(content.decode("utf-8")))
            except UnicodeDecodeError:
                raise ReconcileError(f"cost doc {path}: not UTF-8 text") from None
        return observed

    # --- what the docs say ------------------------------------------------------------------

    def planned_facts(self) -> Facts:
        observed = self.ctx.observed or {}
        return facts_from(*(_records(observed.get(kind)) for kind in INFRASTRUCTURE))

    def report(self, facts: Facts) -> CostReport:
        return cost_report(self.ctx.state, self.catalog, facts)

    def render(self, doc: CostDoc, observed: Observation | None, facts: Facts) -> RenderedDoc:
        seen: SeenDoc | None = observed.data if observed else None
        return render_doc(doc, seen.text if seen else None, self.report(facts), self.source_dir())

    def rendered(self, facts: Facts | None = None) -> list[RenderedDoc]:
        """Every doc as it should read (for `reconcile docs`)."""
        docs = self.ctx.state.cost_docs_by_path
        observed = self.observe(docs)
        return [self.render(doc, observed.get(path), facts or self.planned_facts()) for path, doc in docs.items()]

    def write(self, doc: RenderedDoc) -> None:
        _write(self.file(doc.path), doc.after)

    # --- diff (pure) ------------------------------------------------------------------------

    def diff(self, name: str, desired: CostDoc | None, observed: Observation | None) -> Action:
        observed_kinds = [kind for kind in INFRASTRUCTURE if kind in (self.ctx.observed or {})]
        depends_on = [f"{kind}.{resource}" for kind in observed_kinds for resource in sorted(self._declared(kind))]

        def action(kind: ActionKind, reasons: list[str], changes: list[Change]) -> Action:
            return Action(
                address=f"{self.kind}.{name}", type=self.kind, action=kind, reasons=reasons, changes=changes,
                observed_digest=observed.digest if observed else ABSENT, depends_on=depends_on,
            )  # fmt: skip

        if desired is None:
            return action("noop", [], [])  # a doc no longer declared is left alone
        facts = self.planned_facts()
        doc = self.render(desired, observed, facts)
        pending = [line.name for line in self.report(facts).instances if line.may_fall_back]
        reasons = [f"written after {', '.join(pending)} launch(es), with the market that really runs"] if pending else []
        if doc.before is None:
            return action("create", [f"{desired.mode} cost doc", *reasons], [Change(path="diff", after=doc.diff())])
        if doc.stale:
            return action("update", ["stale figures", *reasons], [Change(path="diff", after=doc.diff())])
        return action("update" if pending else "noop", reasons, [])

    def _declared(self, kind: str) -> Mapping[str, Any]:
        declared: Mapping[str, Any] = self.ctx.state.ec2_instances if kind == "ec2_instance" else self.ctx.state.s3_buckets
        return declared

    def findings(self, name: str, desired: CostDoc | None, observed: Observation | None) -> list[Finding]:
        if desired is None or observed is None:
            return []
        seen: SeenDoc = observed.data
        report = self.report(self.planned_facts())
        if not render_doc(desired, seen.text, report, self.source_dir()).stale:
            return []
        stale = stale_figures(desired, seen.text, report) or ["its text differs from what `reconcile docs` writes"]
        more = f" (and {len(stale) - SHOWN_STALE} more)" if len(stale) > SHOWN_STALE else ""
        return [
            Finding(
                severity="warning",
                address=f"{self.kind}.{name}",
                code="cost-doc-stale",
                message=f"{name} is stale: {'; '.join(stale[:SHOWN_STALE])}{more}",
                remedy="run `reconcile docs` and commit the result (apply also rewrites it)",
            )
        ]

    # --- apply ------------------------------------------------------------------------------

    def apply(self, step: Step) -> StepResult:
        doc: CostDoc | None = step.desired
        if doc is None or step.action.action == "noop":
            return StepResult(True, "nothing to do")
        try:
            facts = self._facts_after_the_infrastructure()
            current = self.observe({doc.path: doc}).get(doc.path)
            rendered = self.render(doc, current, facts)
            if rendered.stale:
                _write(self.file(doc.path), rendered.after)
        except ReconcileError as error:
            return StepResult(False, str(error))
        except OSError as error:
            return StepResult(False, f"cannot write {doc.path}: {error.strerror}")
        total = self.report(facts)
        verb = "wrote" if rendered.stale else "already current:"
        return StepResult(True, f"{verb} {doc.path} (monthly {usd(total.monthly)}, one-off {usd(total.one_off)})")

    def _facts_after_the_infrastructure(self) -> Facts:
        """A fresh look at the instances, once per apply (every doc step runs after them all)."""
        with self.fresh_lock:
            if self.fresh is None:
                looked = "ec2_instance" in (self.ctx.observed or {}) and self.ctx.reobserve is not None
                instances = self.ctx.reobserve("ec2_instance") if looked and self.ctx.reobserve else None
                self.fresh = facts_from(_records(instances), None)
            return self.fresh

    def verify(self) -> dict[str, StepResult]:
        return {}


def _write(path: Path, text: str) -> None:
    """Replace the file in one step (a reader never sees half a doc), keeping its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


KIND = CostDocKind
