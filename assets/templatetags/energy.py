from django import template

register = template.Library()


@register.filter
def kwh(wh, digits=1):
    """Integer Wh -> "12.3" kWh; "—" when unknown."""
    if wh is None or wh == "":
        return "—"
    return f"{wh / 1000:,.{int(digits)}f}"


@register.filter
def kw(w, digits=2):
    if w is None or w == "":
        return "—"
    return f"{w / 1000:,.{int(digits)}f}"
