"""Money and energy in words for the value report and statements (issue 15, 17).

One wording, from one place, for HTML and PDF: `against_supplier` gives
"£1.34 less than the supplier alone" / "£1.34 more than the supplier alone" /
"the same as the supplier alone", never "£-1.34" or "-£0.00".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


def _pence(value) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, Decimal):  # pounds
        return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return int(round(float(value)))


def money(pence: int) -> str:
    """£ with thousands separators, sign in front; zero is never negative."""
    return f"{'-' if pence < 0 else ''}£{abs(pence) / 100:,.2f}"


def against_supplier_words(saving_pence: int) -> str:
    """A saving (+) or extra cost (-) against the supplier alone, in words."""
    if saving_pence > 0:
        return f"{money(saving_pence)} less than the supplier alone"
    if saving_pence < 0:
        return f"{money(-saving_pence)} more than the supplier alone"
    return "the same as the supplier alone"


@register.filter
def pence_gbp(value) -> str:
    """An int of pence as "£1,234.56" / "-£1.34"."""
    return money(_pence(value))


@register.filter
def against_supplier(value) -> str:
    """An int of pence saved (or a Decimal of pounds) in words against the supplier alone."""
    return against_supplier_words(_pence(value))


@register.filter
def pct(value, places: int = 0) -> str:
    """A fraction (0.283) as "28 %"."""
    try:
        return f"{float(value) * 100:,.{int(places)}f} %"
    except (TypeError, ValueError):
        return "–"


@register.filter
def kwh(value_wh) -> str:
    """Wh as kWh for people, with thousands separators: 1396159 -> "1,396 kWh", 750 -> "0.75 kWh"."""
    try:
        wh = float(value_wh)
    except (TypeError, ValueError):
        return "–"
    kwh_ = wh / 1000
    digits = 2 if abs(kwh_) < 10 else 1 if abs(kwh_) < 100 else 0
    return f"{kwh_:,.{digits}f} kWh"


@register.simple_tag
def statement_words(s) -> dict:
    """{"rows": [...], "summary": {...}} of a monthly statement (`lem.statement_words`)."""
    from lem.statement_words import statement_rows, statement_summary

    return {"rows": statement_rows(s), "summary": statement_summary(s)}
