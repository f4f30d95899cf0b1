"""Installation: milestones, documents and photos, commissioning (the kit becomes devices of
the site, ready for the market, the VPP and the simulator), the three-month yield check, complaints."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from assets import services as asset_services
from assets.domain import kinds
from assets.domain.solar import pv_profile_kwh_per_kwp
from assets.models import Device, IntervalReading, Meter
from community.errors import DomainError
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain import offers as dom
from ..models import Complaint, Document, Installation, Milestone, Offer, YieldCheck
from ._common import fee_income, installer_payable
from .offers import deposit_apply

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# content type -> the file's first bytes (checked, not trusted from the browser)
ALLOWED_UPLOADS = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
MILESTONES = (
    "Scaffolding up",
    "Panels on the roof",
    "Inverter and battery fitted",
    "Grid connection (DNO notified)",
    "Handover",
)
YIELD_CHECK_DAYS = 91
SHORTFALL_BELOW = 0.85  # metered under 85 % of the offer's estimate for the same weeks is a shortfall


def _installer_only(installation: Installation, actor: Any) -> None:
    if actor is None or installation.installer.user_id != getattr(actor, "pk", None):
        raise DomainError(
            f"Only {installation.installer.company}, the installer, can record this.", field="installation"
        )


def milestone_record(
    *, installation: Installation, name: str, note: str = "", now: datetime | None = None, actor: Any = None
) -> Milestone:
    _installer_only(installation, actor)
    if not name.strip():
        raise DomainError("Name the milestone.", field="name")
    if installation.status == Installation.Status.COMMISSIONED:
        raise DomainError("The installation is commissioned; no more milestones.", field="name")
    now = now or timezone.now()
    with transaction.atomic():
        m = Milestone.objects.create(
            installation=installation, name=name.strip()[:80], note=note[:300], done_at=now, by=actor
        )
        if name == "Handover" and installation.installed_on is None:
            installation.installed_on = timezone.localdate(now)
            installation.status = Installation.Status.INSTALLED
            installation.save(update_fields=["installed_on", "status"])
        audit_record(
            actor=actor,
            action="purchasing.milestone",
            community=installation.installer.community,
            obj=installation,
            summary=f"Installation {installation.pk}: {name}",
        )
    return m


def document_upload(*, installation: Installation, kind: str, upload: Any, actor: Any = None) -> Document:
    """A photo (JPEG/PNG) or certificate (PDF), at most 10 MB, its type checked from its bytes."""
    _installer_only(installation, actor)
    if kind not in Document.Kind.values:
        raise DomainError("Choose the document kind.", field="kind")
    if upload is None:
        raise DomainError("Choose a file.", field="file")
    if upload.size > MAX_UPLOAD_BYTES:
        raise DomainError(f"The file is {upload.size / 1e6:.1f} MB; the limit is 10 MB.", field="file")
    head = upload.read(16)
    upload.seek(0)
    ctype = next((t for t, magics in ALLOWED_UPLOADS.items() if any(head.startswith(m) for m in magics)), None)
    if ctype is None:
        raise DomainError("Only JPEG or PNG photos and PDF documents can be uploaded.", field="file")
    if kind == Document.Kind.PHOTO and not ctype.startswith("image/"):
        raise DomainError("A photo must be a JPEG or PNG image.", field="file")
    with transaction.atomic():
        doc = Document.objects.create(
            installation=installation, kind=kind, file=upload, content_type=ctype, size=upload.size, uploaded_by=actor
        )
        audit_record(
            actor=actor,
            action="purchasing.document_upload",
            community=installation.installer.community,
            obj=doc,
            summary=f"{doc.get_kind_display()} for installation {installation.pk}",
        )
    return doc


def _register_kit(offer: Offer, actor: Any) -> tuple[list[Device], list[asset_services.Credentials]]:
    """The installed kit as devices of the household's site (the assets app's own registration service)."""
    reg = offer.registration
    site = reg.site
    size = float(offer.size)
    uid = f"buy{offer.pk}-{offer.package.kind.replace('_', '')}"
    existing = Device.objects.filter(community=site.community, uid=uid).first()
    if existing is not None:
        return [existing], []
    kind = offer.package.kind
    if kind == "pv":
        device, creds = asset_services.device_register(
            site=site,
            kind=kinds.PV_INVERTER,
            uid=uid,
            name=f"Rooftop PV {size:g} kWp (group buy)",
            rated_power_w=int(dom.inverter_kw(size) * 1000),
            specs={
                "dc_w": int(size * 1000),
                "tilt_deg": reg.tilt_deg,
                "azimuth_deg": reg.azimuth_deg,
                "offer": offer.pk,
            },
            actor=actor,
        )
        Meter.objects.get_or_create(
            serial=f"GEN-BUY-{offer.pk}", defaults={"site": site, "device": device, "kind": Meter.Kind.GENERATION}
        )
    elif kind == "battery":
        device, creds = asset_services.device_register(
            site=site,
            kind=kinds.BATTERY,
            uid=uid,
            name=f"Home battery {size:g} kWh (group buy)",
            rated_power_w=int(min(5000, size * 500)),
            capacity_wh=int(size * 1000),
            limits={"reserve_pct": 20},
            specs={"offer": offer.pk},
            actor=actor,
        )
    elif kind == "heat_pump":
        device, creds = asset_services.device_register(
            site=site,
            kind=kinds.HEAT_PUMP,
            uid=uid,
            name=f"Air-source heat pump {size:g} kW (group buy)",
            rated_power_w=int(size * 1000 / 3.0),
            limits={"comfort_min_c": 18.5, "comfort_max_c": 21.5},
            specs={"heat_kw": size, "offer": offer.pk},
            actor=actor,
        )
    else:
        device, creds = asset_services.device_register(
            site=site,
            kind=kinds.EV_CHARGER,
            uid=uid,
            name="EV charger 7.4 kW (group buy)",
            rated_power_w=7400,
            limits={"ready_by": "07:00", "target_pct": 80},
            specs={"car_capacity_wh": 58000, "offer": offer.pk},
            actor=actor,
        )
    return [device], [creds]


def installation_commission(*, installation: Installation, now: datetime | None = None, actor: Any = None):
    """Commission: the kit becomes devices of the site; the deposit counts towards the invoice;
    the convenor's fee falls due; the yield check is booked three months on. Idempotent."""
    _installer_only(installation, actor)
    now = now or timezone.now()
    with transaction.atomic():
        installation = (
            Installation.objects.select_for_update(of=("self",))
            .select_related("offer__registration__site", "offer__package", "offer__registration__campaign", "installer")
            .get(pk=installation.pk)
        )
        if installation.status == Installation.Status.COMMISSIONED:
            return installation, []
        offer = installation.offer
        if offer.status != Offer.Status.CONFIRMED:
            raise DomainError(
                f"The offer is {offer.get_status_display().lower()}: only a surveyed, confirmed job can be commissioned.",
                field="installation",
            )
        if offer.registration.site is None:
            raise DomainError(
                "The household has no registered home on the platform to attach the kit to.", field="installation"
            )
        if not installation.documents.filter(kind=Document.Kind.CERTIFICATE).exists():
            raise DomainError("Upload the MCS / commissioning certificate first.", field="file")
        devices, creds = _register_kit(offer, actor)
        installation.devices.add(*devices)
        installation.status = Installation.Status.COMMISSIONED
        installation.commissioned_at = now
        installation.installed_on = installation.installed_on or timezone.localdate(now)
        installation.yield_check_due = timezone.localdate(now) + timedelta(days=YIELD_CHECK_DAYS)
        installation.save()
        offer.status = Offer.Status.INSTALLED
        offer.save(update_fields=["status"])
        deposit_apply(offer=offer, actor=actor)
        campaign = offer.registration.campaign
        if campaign.convenor_fee_gbp > 0:
            ledger_post(
                community=campaign.community,
                lines=[
                    (installer_payable(campaign, installation.installer), campaign.convenor_fee_gbp),
                    (fee_income(campaign), -campaign.convenor_fee_gbp),
                ],
                memo=f"Convenor's fee on offer {offer.pk}, netted from {installation.installer.company}'s invoice",
                source="purchasing",
                idempotency_key=f"purchasing:offer:{offer.pk}:fee",
                reference=f"offer {offer.pk}",
                actor=actor,
            )
        audit_record(
            actor=actor,
            action="purchasing.commission",
            community=campaign.community,
            obj=installation,
            summary=f"Installation {installation.pk} commissioned; {len(devices)} device(s) registered",
        )
    return installation, creds


def _expected_wh(installation: Installation, start: datetime, end: datetime) -> int:
    """The offer's annual estimate spread over [start, end) with the roof's own hourly profile."""
    offer = installation.offer
    reg = offer.registration
    prof = pv_profile_kwh_per_kwp(
        float(reg.latitude), float(reg.longitude), float(reg.tilt_deg), float(reg.azimuth_deg)
    )
    first = int(
        (start - start.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)).total_seconds() // 3600
    )
    n = int((end - start).total_seconds() // 3600)
    hours = (first + np.arange(n)) % 8760
    share = float(prof[hours].sum() / prof.sum()) if prof.sum() > 0 else n / 8760
    return int(round(offer.annual_yield_kwh * 1000 * share))


def yield_checks_due(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Installation.objects.filter(
            status=Installation.Status.COMMISSIONED,
            offer__package__kind="pv",
            yield_check_due__lte=timezone.localdate(now),
            yield_check__isnull=True,
        ).values_list("pk", flat=True)
    )


def yield_check_run(*, installation: Installation, now: datetime | None = None) -> YieldCheck | None:
    """Metered PV output over the first three months vs the offer's estimate (idempotent: one check each)."""
    now = now or timezone.now()
    with transaction.atomic():
        installation = (
            Installation.objects.select_for_update()
            .select_related("offer__registration", "offer__package")
            .get(pk=installation.pk)
        )
        existing = YieldCheck.objects.filter(installation=installation).first()
        if existing is not None:
            return existing
        if installation.commissioned_at is None or installation.offer.package.kind != "pv":
            return None
        start = installation.commissioned_at
        end = start + timedelta(days=YIELD_CHECK_DAYS)
        if end > now:
            return None
        readings = IntervalReading.objects.filter(
            meter__device__in=installation.devices.all(),
            meter__kind=Meter.Kind.GENERATION,
            period_start__gte=start,
            period_start__lt=end,
        )
        agg = readings.aggregate(wh=Sum("export_wh"), minutes=Sum("period_minutes"))
        metered = int(agg["wh"] or 0)
        coverage = min(1.0, (agg["minutes"] or 0) / ((end - start).total_seconds() / 60))
        expected = _expected_wh(installation, start, end)
        check = YieldCheck.objects.create(
            installation=installation,
            period_start=start,
            period_end=end,
            expected_wh=expected,
            metered_wh=metered,
            coverage=round(coverage, 3),
            # judge the weeks that were metered: a gap in data is not a shortfall of the panels
            shortfall=metered < SHORTFALL_BELOW * expected * max(coverage, 0.0),
            checked_at=now,
        )
        if check.shortfall:
            audit_record(
                actor=None,
                action="purchasing.yield_shortfall",
                community=installation.installer.community,
                obj=installation,
                summary=f"Installation {installation.pk}: metered {metered / 1000:.0f} kWh vs {expected / 1000:.0f} kWh expected",
            )
    return check


def complaint_raise(*, offer: Offer, user: Any, subject: str, detail: str, actor: Any = None) -> Complaint:
    if offer.registration.user_id != getattr(user, "pk", None):
        raise DomainError("Only the household can raise a complaint about its installation.", field="subject")
    if not subject.strip() or not detail.strip():
        raise DomainError("Give the complaint a subject and say what went wrong.", field="detail")
    with transaction.atomic():
        c = Complaint.objects.create(
            campaign=offer.registration.campaign,
            installer=offer.installer,
            offer=offer,
            raised_by=user,
            subject=subject.strip()[:200],
            detail=detail,
        )
        audit_record(
            actor=actor or user,
            action="purchasing.complaint_raise",
            community=c.campaign.community,
            obj=c,
            summary=f"Complaint about {c.installer.company}: {c.subject}",
        )
    return c


def complaint_update(
    *, complaint: Complaint, status: str, resolution: str = "", now: datetime | None = None, actor: Any = None
) -> Complaint:
    if status not in Complaint.Status.values:
        raise DomainError("Unknown complaint status.", field="status")
    final = status in (Complaint.Status.UPHELD, Complaint.Status.REJECTED)
    if final and not resolution.strip():
        raise DomainError("Say how the complaint was resolved.", field="resolution")
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if complaint.resolved_at is not None:
            raise DomainError("This complaint is already resolved.", field="status")
        complaint.status = status
        complaint.resolution = resolution
        if final:
            complaint.resolved_at = now or timezone.now()
        complaint.save()
        audit_record(
            actor=actor,
            action="purchasing.complaint_update",
            community=complaint.campaign.community,
            obj=complaint,
            summary=f"Complaint {complaint.pk}: {complaint.get_status_display()}",
        )
    return complaint
