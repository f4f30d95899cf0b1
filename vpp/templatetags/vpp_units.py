"""Wh and W as people read them on the VPP pages."""

from django import template

register = template.Library()


@register.filter
def kwh(wh) -> str:
    return "" if wh is None else f"{int(wh) / 1000:,.1f}"


@register.filter
def kw(w) -> str:
    return "" if w is None else f"{int(w) / 1000:,.1f}"
