"""The plan as data (SPEC §3.2). The JSON format is `Plan.model_dump(mode="json")`, nothing built
by hand; every renderer reads this and nothing else. No value in a plan is ever a secret: changes
pass through `redact` when they are made."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from reconciler.model.sensitive import redact

ActionKind = Literal["create", "update", "replace", "delete", "noop"]
ACTION_KINDS: tuple[ActionKind, ...] = ("create", "update", "replace", "delete", "noop")
FORMAT_VERSION: Literal["1"] = "1"


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CONTENT_FIELDS = ("files.", "configs.", "secrets.")  # a container's changes that name a file's content (apply reads it)
CONTENT_DIFF = " (diff)"  # ends a change's path whose `after` is a unified diff of a file's content (a config)


class Change(Record):
    """One field that differs: ``path`` like ``healthcheck.test``; values as a user reads them."""

    path: str
    before: Any = None
    after: Any = None

    @field_validator("before", "after", mode="before")
    @classmethod
    def _no_secret(cls, value: Any) -> Any:
        return redact(value)


def created_fields(shown: dict[str, Any], prefix: str = "") -> list[Change]:
    """What a create shows: one change per field it sets, nested keys joined with dots
    (`healthcheck.test`), empty values left out."""
    changes: list[Change] = []
    for key, value in shown.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            changes += created_fields(value, path)
        elif value not in (None, [], {}, ()):
            changes.append(Change(path=path, after=value))
    return changes


class Blocked(Record):
    reason: str
    remedy: str


class Action(Record):
    address: str
    type: str
    action: ActionKind
    reasons: list[str] = []
    changes: list[Change] = []
    observed_digest: str
    depends_on: list[str] = []
    blocked: Blocked | None = None
    host: str | None = None  # the Docker host it lives on (containers, disk budgets); renderers group by it
    known_at_apply: list[str] = []  # fields whose values use a variable without a value at plan (a secret)
    secrets: list[str] = []  # the secret variables its values use (names, never values): what apply hands it

    @property
    def name(self) -> str:
        return self.address.partition(".")[2]

    @property
    def is_change(self) -> bool:
        return self.action != "noop"


class Finding(Record):
    severity: Literal["error", "warning", "info"]
    address: str
    code: str
    message: str
    remedy: str | None = None


Usd = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""Money: Decimal in the program, a JSON number in the plan file (already rounded to cents)."""


class CostLine(Record):
    address: str
    description: str
    monthly_usd: Usd = Decimal(0)
    one_off_usd: Usd = Decimal(0)
    market: str | None = None  # instances: the market priced (what runs, else the declared one)
    declared_market: str | None = None
    hourly_usd: Usd | None = None
    monthly_usd_before: Usd = Decimal(0)  # what the resource costs as it exists now (0: it does not exist yet)
    one_off_usd_before: Usd = Decimal(0)


class Costs(Record):
    """Projected costs once the plan is applied; each line also says what it costs now."""

    monthly_usd: Usd = Decimal(0)
    one_off_usd: Usd = Decimal(0)
    lines: list[CostLine] = []

    @property
    def monthly_usd_before(self) -> Decimal:
        return sum((line.monthly_usd_before for line in self.lines), Decimal(0))

    @property
    def one_off_usd_before(self) -> Decimal:
        return sum((line.one_off_usd_before for line in self.lines), Decimal(0))

    @property
    def annual_usd(self) -> Decimal:
        return self.monthly_usd * 12 + self.one_off_usd


class GitInfo(Record):
    commit: str
    branch: str | None = None  # None on a detached HEAD (as CI checks out a pull request)
    dirty: bool


class StateInfo(Record):
    dir: str  # relative to the project root (gitinfo.recorded_state_dir)
    path: str | None = None  # where it was, absolute: apply's last place to look (gitinfo.saved_state_dir)
    name: str = "default"  # settings.name: the state whose resources this plan sees
    digest: str
    git: GitInfo | None = None
    variables: list[str] = []  # the variables that had a value at plan (names only): apply reads no others…
    known_at_apply: list[str] = []  # …except these, which had none, when apply's environment names them application secrets


class Summary(Record):
    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    noop: int = 0
    blocked: int = 0

    @classmethod
    def of(cls, actions: list[Action]) -> Summary:
        counts = {kind: sum(1 for a in actions if a.action == kind) for kind in ACTION_KINDS}
        return cls(**counts, blocked=sum(1 for a in actions if a.blocked is not None))


class Plan(Record):
    format_version: Literal["1"] = FORMAT_VERSION
    tool_version: str
    state: StateInfo
    summary: Summary
    actions: list[Action]
    findings: list[Finding] = []
    costs: Costs = Field(default_factory=Costs)

    @property
    def has_changes(self) -> bool:
        """Anything to do, or anything blocked (for --detailed-exitcode)."""
        return any(a.is_change or a.blocked for a in self.actions)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def action(self, address: str) -> Action | None:
        return next((a for a in self.actions if a.address == address), None)
