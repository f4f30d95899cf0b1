"""OpenADR 2.0b: the platform as a VEN (Virtual End Node) of an external VTN.

Events in: each ``oadrDistributeEvent`` becomes a requirement, a bid and, when
the portfolio can deliver, an accepted VPP event
(``services.market.requirement_from_openadr``); the VEN answers optIn or optOut.
A cancelled event cancels ours (devices handed back). Reports out: the
portfolio's flexibility being delivered now (W, TELEMETRY_USAGE,
``power_real``), which the VTN asks for when it registers our report.

Signals understood: ``LOAD_DISPATCH`` (delta, kW; its magnitude is the volume)
and ``simple``/``SIMPLE`` (levels 1-3, each ``level_kw``). Run one VEN per
community with ``manage.py openadr_ven``; tested against openleadr's own VTN
(``tests/vpp/test_openadr.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass
class VenConfig:
    community_slug: str
    buyer_username: str
    node_code: str
    vtn_url: str
    ven_name: str
    price_gbp_per_mwh: Decimal = Decimal("306")  # DFS 2024/25 average (REFERENCES.md)
    level_kw: Decimal = Decimal("10")
    report_every: timedelta = timedelta(seconds=10)


def _volume_kw(event: dict, level_kw: Decimal) -> Decimal:
    best = Decimal(0)
    for signal in event.get("event_signals", []):
        name = signal.get("signal_name", "")
        for iv in signal.get("intervals", []):
            v = Decimal(str(iv.get("signal_payload", 0) or 0))
            if name == "LOAD_DISPATCH":
                best = max(best, abs(v))
            elif name in ("simple", "SIMPLE"):
                best = max(best, v * level_kw)
    return best.quantize(Decimal("0.1"))


def receive_event(config: VenConfig, event: dict) -> str:
    """Synchronous core of ``on_event``: our answer, 'optIn' or 'optOut'."""
    from django.contrib.auth import get_user_model

    from community.models import Community, NetworkNode
    from vpp.models import Event, Requirement
    from vpp.services.market import event_cancel, requirement_from_openadr

    community = Community.objects.get(slug=config.community_slug)
    buyer = get_user_model().objects.get(username=config.buyer_username)
    desc = event["event_descriptor"]
    event_id = desc["event_id"]
    if desc.get("event_status") == "cancelled":
        req = Requirement.objects.filter(community=community, openadr_event_id=event_id).first()
        ev = Event.objects.filter(requirement=req).first() if req else None
        if ev is not None:
            event_cancel(event=ev, actor=buyer)
        return "optIn"
    start = event["active_period"]["dtstart"]
    end = start + event["active_period"]["duration"]
    node = NetworkNode.objects.get(community=community, code=config.node_code)
    ev, answer = requirement_from_openadr(
        community=community,
        buyer=buyer,
        node=node,
        event_id=event_id,
        starts_at=start,
        ends_at=end,
        kw=_volume_kw(event, config.level_kw),
        utilisation_gbp_per_mwh=config.price_gbp_per_mwh,
        buyer_name=f"OpenADR VTN ({config.vtn_url})",
    )
    log.info("OpenADR event %s: %s", event_id, answer)
    return "optIn" if answer == "optIn" else "optOut"


def delivering_w(config: VenConfig) -> int:
    """Flexibility the portfolio is commanded to deliver right now (W) for this community's OpenADR events."""
    from vpp.models import Event, VppCommand

    now = timezone.now()
    ev_ids = (
        Event.objects.filter(
            community__slug=config.community_slug, starts_at__lte=now, ends_at__gt=now, status="active"
        )
        .exclude(requirement__openadr_event_id="")
        .values_list("pk", flat=True)
    )
    minutes = 30
    period = now - timedelta(minutes=now.minute % minutes, seconds=now.second, microseconds=now.microsecond)
    return sum(
        VppCommand.objects.filter(event_id__in=list(ev_ids), period_start=period, refused="").values_list(
            "flex_w", flat=True
        )
    )


def build_client(config: VenConfig):
    """An ``openleadr.OpenADRClient`` wired to the platform (run it with ``await client.run()``)."""
    from openleadr import OpenADRClient

    client = OpenADRClient(ven_name=config.ven_name, vtn_url=config.vtn_url)

    async def on_event(event):
        return await sync_to_async(receive_event, thread_sensitive=False)(config, event)

    async def on_update_event(event):
        return await sync_to_async(receive_event, thread_sensitive=False)(config, event)

    async def report_value():
        return await sync_to_async(delivering_w, thread_sensitive=False)(config)

    client.add_handler("on_event", on_event)
    client.add_handler("on_update_event", on_update_event)
    client.add_report(
        callback=report_value,
        resource_id=f"{config.community_slug}:{config.node_code}",
        measurement="power_real",
        unit="W",
        sampling_rate=config.report_every,
    )
    return client
