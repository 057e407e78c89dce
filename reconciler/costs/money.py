"""Money as Decimal, and how it is shown: USD rounded half-up to cents (0.45 × 42.5 = 19.125 →
$19.13). Hourly rates are prices, not charges: shown with every digit the price list has."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HOURS_PER_MONTH = Decimal(730)
MONTHS_PER_YEAR = 12


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def usd(amount: Decimal) -> str:
    """$1,234.57; a negative amount as -$3.14."""
    rounded = cents(amount)
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.2f}"


def signed_usd(amount: Decimal) -> str:
    """+$38.67, -$3.14, ±$0.00."""
    rounded = cents(amount)
    if rounded == 0:
        return "±$0.00"
    return ("+" if rounded > 0 else "") + usd(rounded)


def rate(amount: Decimal) -> str:
    """An hourly price: at least cents, never rounded away ($0.45, $0.3328)."""
    exponent = amount.normalize().as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"${amount:,.{places}f}"


def percent_change(before: Decimal, after: Decimal) -> str:
    """+202 % (of the shown amounts); empty when there was nothing before."""
    if cents(before) == 0:
        return ""
    change = (cents(after) - cents(before)) / cents(before) * 100
    return f"{'+' if change > 0 else ''}{change.quantize(Decimal(1), rounding=ROUND_HALF_UP)} %"
