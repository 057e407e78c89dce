"""What changed between two versions of a cost doc, and why, in sentences
("phase2-worker fell back from Spot to On-Demand: +$38.67"). Differences are between the amounts as
shown (cents), so they agree with what a reader subtracts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from reconciler.costs.figures import Snapshot
from reconciler.costs.model import MARKET_NAMES
from reconciler.costs.money import percent_change, signed_usd, usd

TOTALS = "total"


def parse_usd(shown: str) -> Decimal | None:
    """$1,234.56 or -$3.14 → Decimal; None for anything else (unknown)."""
    text = shown.strip().replace(",", "")
    negative = text.startswith("-")
    text = text.lstrip("-").lstrip("$")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return -amount if negative else amount


def _difference(before: dict[str, str], after: dict[str, str], key: str = "amount") -> Decimal | None:
    old, new = parse_usd(before.get(key, "")), parse_usd(after.get(key, ""))
    return None if old is None or new is None else new - old


def _market(code: str) -> str:
    return MARKET_NAMES.get(code, code)


def _why_instance(name: str, before: dict[str, str], after: dict[str, str]) -> str:
    if before.get("market") != after.get("market"):
        old, new = _market(before.get("market", "")), _market(after.get("market", ""))
        if after.get("declared") != after.get("market") and before.get("market") == after.get("declared"):
            return f"{name} fell back from {old} to {new}"
        return f"{name} moved from {old} to {new}"
    if before.get("type") != after.get("type"):
        return f"{name} changed type from {before.get('type')} to {after.get('type')}"
    if before.get("state") != after.get("state"):
        return f"{name} is now {after.get('state')}"
    if before.get("hours") != after.get("hours"):
        return f"{name} hours changed from {before.get('hours')} to {after.get('hours')}"
    if before.get("hourly") != after.get("hourly"):
        return f"{name} price changed from ${before.get('hourly')}/h to ${after.get('hourly')}/h"
    return f"{name} changed"


def _why_bucket(name: str, before: dict[str, str], after: dict[str, str]) -> str:
    if before.get("gb") != after.get("gb"):
        return f"{name} expected size changed from {before.get('gb')} GB to {after.get('gb')} GB"
    if before.get("gb_month") != after.get("gb_month"):
        return f"{name} price changed from ${before.get('gb_month')} to ${after.get('gb_month')} per GB-month"
    return f"{name} changed"


def _line_change(address: str, before: dict[str, str], after: dict[str, str]) -> str | None:
    kind, _, name = address.partition(".")
    if before == after:
        return None
    difference = _difference(before, after)
    if kind == "ec2_instance":
        why = _why_instance(name, before, after)
    elif kind == "s3_bucket":
        why = _why_bucket(name, before, after)
    else:
        why = f"{name} fee changed"
    if difference is None:
        return f"{why}: {before.get('amount')} → {after.get('amount')}"
    term = after.get("term", "")
    percent = percent_change(parse_usd(before["amount"]) or Decimal(0), parse_usd(after["amount"]) or Decimal(0))
    detail = ", ".join(part for part in (f"{term} {before.get('amount')} → {after.get('amount')}", percent) if part)
    return f"{why}: {signed_usd(difference)} ({detail})"


def explain_changes(before: Snapshot | None, after: Snapshot) -> list[str]:
    """Sentences, one per changed line, then the totals; [] when nothing changed."""
    if before is None:
        return []
    sentences: list[str] = []
    for address in sorted((set(before) | set(after)) - {TOTALS}):
        old, new = before.get(address), after.get(address)
        name = address.partition(".")[2]
        if old is None and new is not None:
            sentences.append(f"{name} added: {new.get('amount')} {new.get('term')}")
        elif new is None and old is not None:
            sentences.append(f"{name} removed: -{old.get('amount')} {old.get('term')}")
        elif old is not None and new is not None:
            sentence = _line_change(address, old, new)
            if sentence:
                sentences.append(sentence)
    old_totals, new_totals = before.get(TOTALS, {}), after.get(TOTALS, {})
    for key, label in (("monthly", "monthly total"), ("one_off", "one-off total"), ("annual", "annual total")):
        if old_totals.get(key) != new_totals.get(key):
            difference = _difference(old_totals, new_totals, key)
            shown = f" ({signed_usd(difference)})" if difference is not None else ""
            sentences.append(f"{label.capitalize()} {old_totals.get(key, usd(Decimal(0)))} → {new_totals.get(key)}{shown}")
    return sentences
