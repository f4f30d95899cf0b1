"""Devices and meters for tests, registered through the real service."""

from __future__ import annotations

import itertools

from assets import services
from assets.models import Meter

_n = itertools.count(1)


def device(site, kind="smart_meter", *, uid=None, rated_power_w=10_000, meter=None, **kw):
    """A registered device (with MQTT credentials). ``meter``: "site" or
    "generation" to attach a Meter fed by it."""
    if kind == "battery":
        kw.setdefault("capacity_wh", 10_000)
    d, creds = services.device_register(
        site=site,
        kind=kind,
        uid=uid or f"{kind.replace('_', '-')}-{next(_n)}",
        name=kw.pop("name", f"{kind} {site.name}"),
        rated_power_w=rated_power_w,
        **kw,
    )
    d.test_password = creds.password
    if meter:
        Meter.objects.create(site=site, device=d, kind=meter, serial=f"M{d.pk:06d}")
    return d


def consent(d, purpose="vpp"):
    """The household's consent to control ``d`` (issue 10: every command to a
    household's device passes the consent and limits gate)."""
    from datetime import timedelta

    from django.utils import timezone

    from community.models import ConsentRecord

    now = timezone.now()
    return ConsentRecord.objects.create(
        community=d.community,
        user=d.site.occupants.first(),
        purpose=purpose,
        scope=f"device:{d.pk}",
        text="test consent",
        granted_at=now - timedelta(days=400),
    )
