"""Households opting devices (or their meter) into the VPP, and out of events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from assets import services as asset_services
from assets.models import Device
from community.errors import DomainError
from community.models import ConsentRecord, Site
from community.services.audit import audit_record
from vpp.models import CONSENT_TEXT, CONSENT_TEXT_VERSION, Enrolment, Event, OptOut, VppCommand

CONSENT_MONTHS = 12
CONSENT_LIFETIME = timedelta(days=365)
CONTROLLABLE = (Device.Kind.BATTERY, Device.Kind.EV_CHARGER, Device.Kind.HEAT_PUMP, Device.Kind.LOAD)


def _consent(*, site: Site, user: Any, scope: str, what: str, now: datetime) -> ConsentRecord:
    return ConsentRecord.objects.create(
        community=site.community,
        user=user,
        purpose=ConsentRecord.Purpose.VPP,
        scope=scope,
        text=CONSENT_TEXT.format(community=site.community.name, what=what),
        text_version=CONSENT_TEXT_VERSION,
        granted_at=now,
        expires_at=now + CONSENT_LIFETIME,
    )


def _check_occupant(site: Site, user: Any) -> None:
    if not site.occupants.filter(pk=getattr(user, "pk", None)).exists():
        raise DomainError("Only the household living at this site can enrol it.", field="site", code="forbidden")


def enrolment_create(
    *,
    site: Site,
    user: Any,
    device: Device | None = None,
    limits: dict | None = None,
    max_events_per_week: int = 3,
    turn_down_pct: int = 15,
    now: datetime | None = None,
) -> Enrolment:
    """Opt a device in (with its limits) or, with ``device=None``, the home for
    turn-down requests measured at its meter. Records the consent word for
    word, valid 12 months. Enrolling what is already enrolled updates its limits."""
    now = now or timezone.now()
    _check_occupant(site, user)
    try:
        max_events_per_week = int(max_events_per_week)
        turn_down_pct = int(turn_down_pct)
    except (TypeError, ValueError):
        raise DomainError(
            "Events per week and turn-down share must be whole numbers.", field="max_events_per_week"
        ) from None
    if not 1 <= max_events_per_week <= 14:
        raise DomainError("Maximum events per week must be between 1 and 14.", field="max_events_per_week")
    if not 1 <= turn_down_pct <= 100:
        raise DomainError("The turn-down share must be between 1 and 100 %.", field="turn_down_pct")
    if device is not None:
        if device.site_id != site.pk:
            raise DomainError("That device is not at this site.", field="device")
        if device.ownership != Device.Ownership.HOUSEHOLD:
            raise DomainError("Only a household's own devices can be enrolled.", field="device")
        if device.kind not in CONTROLLABLE:
            raise DomainError(
                f"A {device.get_kind_display().lower()} cannot give flexibility; enrol a battery, EV charger, "
                "heat pump or controllable load, or the home for turn-down requests.",
                field="device",
            )
    elif not site.meters.filter(kind="site").exists():
        raise DomainError("Turn-down is measured at the home's meter, and this home has none registered.", field="site")
    with transaction.atomic():
        if device is not None and limits:
            asset_services.device_limits_update(device=device, limits=limits, actor=user)
        kind = Enrolment.Kind.DEVICE if device is not None else Enrolment.Kind.TURN_DOWN
        existing = Enrolment.objects.filter(site=site, kind=kind, device=device, left_at=None).first()
        if existing is not None:
            existing.max_events_per_week = max_events_per_week
            existing.turn_down_pct = turn_down_pct
            existing.save(update_fields=["max_events_per_week", "turn_down_pct"])
            return existing
        what = device.name if device is not None else "home's electricity use (turn-down requests)"
        scope = f"device:{device.pk}" if device is not None else f"site:{site.pk}"
        enrolment = Enrolment.objects.create(
            community=site.community,
            site=site,
            user=user,
            kind=kind,
            device=device,
            consent=_consent(site=site, user=user, scope=scope, what=what, now=now),
            max_events_per_week=max_events_per_week,
            turn_down_pct=turn_down_pct,
            enrolled_at=now,
        )
        audit_record(
            actor=user,
            action="vpp.enrol",
            community=site.community,
            obj=enrolment,
            summary=f"Enrolled {enrolment.label} at {site.name} in the VPP",
        )
    return enrolment


def enrolment_renew(*, enrolment: Enrolment, user: Any, now: datetime | None = None) -> Enrolment:
    """A fresh 12-month consent with today's wording."""
    now = now or timezone.now()
    _check_occupant(enrolment.site, user)
    if enrolment.left_at:
        raise DomainError("This enrolment has ended; enrol again.", field="enrolment")
    with transaction.atomic():
        old = enrolment.consent
        what = enrolment.device.name if enrolment.device_id else "home's electricity use (turn-down requests)"
        enrolment.consent = _consent(site=enrolment.site, user=user, scope=old.scope, what=what, now=now)
        enrolment.save(update_fields=["consent"])
        audit_record(
            actor=user, action="vpp.renew", community=enrolment.community, obj=enrolment, summary="Renewed VPP consent"
        )
    return enrolment


def enrolment_leave(*, enrolment: Enrolment, user: Any, now: datetime | None = None) -> Enrolment:
    """Withdraw: consent ends now; nothing more is sent (the gate refuses)."""
    now = now or timezone.now()
    _check_occupant(enrolment.site, user)
    with transaction.atomic():
        if enrolment.left_at is None:
            enrolment.left_at = now
            enrolment.save(update_fields=["left_at"])
            ConsentRecord.objects.filter(pk=enrolment.consent_id, withdrawn_at=None).update(withdrawn_at=now)
            audit_record(
                actor=user, action="vpp.leave", community=enrolment.community, obj=enrolment, summary="Left the VPP"
            )
    return enrolment


def event_opt_out(*, event: Event, enrolment: Enrolment, user: Any, now: datetime | None = None) -> OptOut:
    """Opt one enrolment out of one event, up to the event's start (idempotent)."""
    now = now or timezone.now()
    _check_occupant(enrolment.site, user)
    if enrolment.community_id != event.community_id:
        raise DomainError("That event is in another community.", field="event")
    if now >= event.starts_at:
        raise DomainError(
            "This event has already started; you can opt out of an event only until it starts.", field="event"
        )
    if event.status in (Event.Status.CANCELLED, Event.Status.SETTLED, Event.Status.COMPLETED):
        raise DomainError("This event is no longer upcoming.", field="event")
    with transaction.atomic():
        opt, created = OptOut.objects.get_or_create(
            event=event, enrolment=enrolment, defaults={"user": user, "created_at": now}
        )
        if created:
            audit_record(
                actor=user,
                action="vpp.opt_out",
                community=event.community,
                obj=opt,
                summary=f"{enrolment.label} at {enrolment.site.name} opted out of event {event.pk}",
            )
    return opt


def enrolment_in_force(enrolment: Enrolment, at: datetime) -> bool:
    return enrolment.left_at is None and enrolment.consent.in_force(at)


def events_this_week(enrolment: Enrolment, at: datetime) -> int:
    return (
        VppCommand.objects.filter(enrolment=enrolment, created_at__gte=at - timedelta(days=7), created_at__lte=at)
        .values("event")
        .distinct()
        .count()
    )
