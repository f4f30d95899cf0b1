from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def kwh(wh) -> str:
    """Integer Wh -> kWh with 2 decimals (display only)."""
    if wh in (None, ""):
        return "–"
    return f"{(Decimal(int(wh)) / 1000).quantize(Decimal('0.01')):,}"
