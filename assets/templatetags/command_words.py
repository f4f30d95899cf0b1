"""A device command in words, and who chose it (issue 10: "why did my battery do that?").

The reason a VPP or balancing command was sent lives with the app that sent it,
reachable from the command as ``vpp_reason`` (a one-to-one from ``vpp.VppCommand``);
this module reads it through the relation only, so ``assets`` imports no higher app.
"""

from __future__ import annotations

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

register = template.Library()


@register.filter
def command_in_words(cmd) -> str:
    p = cmd.params or {}
    # UK (the site's) time, as every page shows times
    until = timezone.localtime(cmd.valid_until).strftime("%H:%M") if cmd.valid_until else ""
    if cmd.action == "set_power":
        w = int(p.get("power_w", 0))
        verb = "discharge at" if w < 0 else ("charge at" if cmd.device.kind == "battery" else "charge at most")
        text = f"{verb} {abs(w) / 1000:.1f} kW"
    elif cmd.action == "pause":
        text = "pause"
    elif cmd.action == "resume":
        text = "resume its own schedule"
    elif cmd.action == "auto":
        text = "back to its own settings"
    elif cmd.action == "shift_setpoint":
        d = float(p.get("delta_c", 0))
        text = f"{'lower' if d < 0 else 'raise'} the heating setpoint by {abs(d):.1f} °C"
    elif cmd.action == "curtail":
        text = f"limit output to {int(p.get('limit_w', 0)) / 1000:.1f} kW"
    else:
        text = cmd.action
    if until and cmd.action not in ("auto", "resume"):
        text += f" until {until}"
    return text[:1].upper() + text[1:]


@register.filter
def command_why(cmd) -> str:
    """The event, plan and rule behind a command, or who sent it by hand."""
    try:
        reason = cmd.vpp_reason
    except (ObjectDoesNotExist, AttributeError):  # no VPP reason recorded, or no VPP app installed
        reason = None
    if reason is not None:
        return reason.reason
    if cmd.source == "operator":
        who = cmd.created_by.get_full_name() if cmd.created_by_id else "an operator"
        return f"Sent by hand by {who or 'an operator'}"
    if cmd.source == "balancing":
        return "The self-balancing controller"
    return cmd.source
