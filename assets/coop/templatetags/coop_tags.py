from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def gbp(value, places: int = 2) -> str:
    """Decimal pounds → '£1,234.56' (negative as '−£12.00')."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    places = int(places)
    s = f"{abs(d):,.{places}f}"
    return f"−£{s}" if d < 0 else f"£{s}"


@register.filter
def pct(value, places: int = 2) -> str:
    """A rate as a fraction (0.04) → '4.00%'."""
    try:
        return f"{Decimal(value) * 100:.{int(places)}f}%"
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def kwh(wh) -> str:
    try:
        return f"{int(wh) / 1000:,.0f} kWh"
    except (TypeError, ValueError):
        return ""


@register.filter
def pence(value) -> str:
    """Integer pennies → '£1,234.56'."""
    try:
        return gbp(Decimal(int(value)) / 100)
    except (TypeError, ValueError):
        return ""
