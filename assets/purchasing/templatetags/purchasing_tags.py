from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def money(value, places: int = 0) -> str:
    """Decimal pounds -> '£1,234' (places=0) or '£1,234.56'."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    places = int(places)
    s = f"{abs(d):,.{places}f}"
    return f"−£{s}" if d < 0 else f"£{s}"


@register.filter
def pct(value, places: int = 0) -> str:
    try:
        return f"{float(value):.{int(places)}f} %"
    except (TypeError, ValueError):
        return ""


@register.filter
def share(value) -> str:
    """A fraction 0..1 as a whole percentage: 0.283 -> '28 %'."""
    try:
        return f"{float(value) * 100:.0f} %"
    except (TypeError, ValueError):
        return ""
