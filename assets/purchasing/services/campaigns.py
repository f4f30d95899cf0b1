"""Campaigns, their packages and household registrations (with the live estimate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from assets.domain.errors import ModelInputError
from community.errors import DomainError
from community.models import Community, Site
from community.services.audit import audit_record

from ..domain import offers as dom
from ..models import KIND_CHOICES, SHADING_CHOICES, Campaign, Package, Registration
from ._common import homes_from, tariff_for, terms_for, tiers_of, winning_bid

KINDS = {k for k, _ in KIND_CHOICES}


def _dec(value: Any, field: str, label: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(f"{label} must be a number, got {value!r}.", field=field) from None
    if not d.is_finite():
        raise DomainError(f"{label} must be a number.", field=field)
    return d


def campaign_create(
    *,
    community: Community,
    name: str,
    registration_closes: datetime,
    bid_deadline: datetime,
    decision_days: int = 42,
    install_weeks: int = 16,
    deposit_gbp: Decimal = Decimal("150.00"),
    convenor_fee_gbp: Decimal = Decimal("0.00"),
    price_weight: int = 70,
    quality_weight: int = 30,
    finance_options: list | None = None,
    description: str = "",
    actor: Any = None,
) -> Campaign:
    if not name.strip():
        raise DomainError("Give the campaign a name.", field="name")
    if bid_deadline < registration_closes:
        raise DomainError("The bid deadline must be on or after registration closes.", field="bid_deadline")
    if deposit_gbp < 0:
        raise DomainError("The deposit cannot be negative.", field="deposit_gbp")
    if convenor_fee_gbp < 0:
        raise DomainError("The convenor's fee cannot be negative.", field="convenor_fee_gbp")
    if price_weight < 0 or quality_weight < 0 or price_weight + quality_weight == 0:
        raise DomainError("Price and quality weights must be zero or more, not both zero.", field="price_weight")
    if decision_days < 1 or install_weeks < 1:
        raise DomainError(
            "The decision window and installation window must be at least one day / week.", field="decision_days"
        )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            community=community,
            name=name.strip(),
            description=description,
            registration_closes=registration_closes,
            bid_deadline=bid_deadline,
            decision_days=decision_days,
            install_weeks=install_weeks,
            deposit_gbp=deposit_gbp,
            convenor_fee_gbp=convenor_fee_gbp,
            price_weight=price_weight,
            quality_weight=quality_weight,
            finance_options=finance_options or [],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action="purchasing.campaign_create",
            community=community,
            obj=campaign,
            summary=f"Campaign {campaign.name} opened",
        )
    return campaign


def package_add(
    *,
    campaign: Campaign,
    kind: str,
    name: str,
    spec: str,
    min_size: Decimal,
    max_size: Decimal,
    market_price_per_unit_gbp: Decimal,
    grant_gbp: Decimal = Decimal("0"),
    min_roof_area_m2: Decimal = Decimal("0"),
    min_fuse_a: int = 0,
    max_shading: str = "heavy",
    timeline: str = "",
    actor: Any = None,
) -> Package:
    if kind not in KINDS:
        raise DomainError(f"Unknown package kind {kind!r}.", field="kind")
    min_size = _dec(min_size, "min_size", "Smallest size")
    max_size = _dec(max_size, "max_size", "Largest size")
    if min_size <= 0 or max_size < min_size:
        raise DomainError("Sizes must be more than zero, the largest at least the smallest.", field="max_size")
    if _dec(market_price_per_unit_gbp, "market_price_per_unit_gbp", "Market price") <= 0:
        raise DomainError("The market price (buying alone) must be more than zero.", field="market_price_per_unit_gbp")
    if max_shading not in {s for s, _ in SHADING_CHOICES}:
        raise DomainError("Unknown shading band.", field="max_shading")
    if campaign.status != Campaign.Status.OPEN or timezone.now() >= campaign.bid_deadline:
        raise DomainError(
            "Packages can only be added while the campaign is open, before the bid deadline.", field="kind"
        )
    try:
        with transaction.atomic():
            package = Package.objects.create(
                campaign=campaign,
                kind=kind,
                name=name,
                spec=spec,
                min_size=min_size,
                max_size=max_size,
                market_price_per_unit_gbp=market_price_per_unit_gbp,
                grant_gbp=grant_gbp,
                min_roof_area_m2=min_roof_area_m2,
                min_fuse_a=min_fuse_a,
                max_shading=max_shading,
                timeline=timeline,
            )
            audit_record(
                actor=actor,
                action="purchasing.package_add",
                community=campaign.community,
                obj=package,
                summary=f"Package {name} added to {campaign.name}",
            )
    except IntegrityError:
        raise DomainError("The campaign already has a package of this kind.", field="kind") from None
    return package


@dataclass(frozen=True)
class Estimate:
    package: Package
    eligible: bool
    reason: str
    size: Decimal
    unit: str
    annual_yield_kwh: int
    self_consumed_kwh: int
    annual_savings_gbp: Decimal
    price_gbp: Decimal
    market_price_gbp: Decimal
    payback_years: float | None
    group_price: bool  # True once the auction has set the price
    notes: tuple[str, ...]

    @property
    def saving_vs_alone_gbp(self) -> Decimal:
        return self.market_price_gbp - self.price_gbp


def _clean_home(data: dict[str, Any]) -> dict[str, Any]:
    labels = {
        "lat": ("latitude", "Latitude"),
        "lon": ("longitude", "Longitude"),
        "roof_area_m2": ("roof_area_m2", "Roof area"),
        "azimuth_deg": ("azimuth_deg", "Orientation"),
        "tilt_deg": ("tilt_deg", "Roof pitch"),
        "fuse_a": ("fuse_a", "Main fuse"),
        "annual_use_kwh": ("annual_use_kwh", "Annual electricity use"),
        "floor_area_m2": ("floor_area_m2", "Floor area"),
        "ev_miles": ("ev_miles", "EV miles a year"),
    }
    out: dict[str, Any] = {}
    for key, (field, label) in labels.items():
        value = data.get(key)
        if value in (None, ""):
            if key in ("floor_area_m2",):
                value = 94
            elif key == "ev_miles":
                value = 0
            else:
                raise DomainError(f"{label} is required.", field=field)
        d = _dec(value, field, label)
        if d < 0 and key not in ("lat", "lon"):
            raise DomainError(f"{label} cannot be negative.", field=field)
        out[key] = d
    if out["tilt_deg"] > 90:
        raise DomainError("Roof pitch must be between 0 and 90 degrees.", field="tilt_deg")
    if out["azimuth_deg"] > 360:
        raise DomainError("Orientation must be between 0 and 360 degrees (180 = south).", field="azimuth_deg")
    if out["roof_area_m2"] > 2000:
        raise DomainError("A roof of more than 2,000 m2 is not a home: check the roof area.", field="roof_area_m2")
    shading = data.get("shading") or "none"
    if shading not in dom.SHADING_LOSS:
        raise DomainError(f"Shading must be one of {', '.join(dom.SHADING_LOSS)}.", field="shading")
    out["shading"] = shading
    return out


def registration_estimate(*, campaign: Campaign, packages: list[Package], home: dict[str, Any]) -> list[Estimate]:
    """What each chosen package would mean for this home: size, yield, savings, price, payback.

    Before the auction the price is the benchmark (buying alone); after it, the winning bid's.
    """
    clean = _clean_home(home)
    h = homes_from([{**clean, "ev_miles": clean["ev_miles"] or 7400}])
    shape = dom.demand_shape()
    tariff = tariff_for(campaign)
    result: list[Estimate] = []
    pv_kwp = None
    for package in sorted(packages, key=lambda p: [k for k, _ in KIND_CHOICES].index(p.kind)):
        tiers = tiers_of(winning_bid(package))
        try:
            o = dom.personal_offers(h, terms_for(package, tiers), demand_shape=shape, tariff=tariff, pv_kwp=pv_kwp)
        except ModelInputError as exc:
            raise DomainError(str(exc), field="latitude") from exc
        except dom.OfferInputError as exc:
            raise DomainError(str(exc)) from exc
        if package.kind == "pv":
            pv_kwp = o.size
        pb = o.payback_years[0]
        result.append(
            Estimate(
                package=package,
                eligible=bool(o.eligible[0]),
                reason=o.reason[0],
                size=Decimal(str(round(float(o.size[0]), 2))),
                unit=package.unit,
                annual_yield_kwh=int(o.annual_yield_kwh[0]),
                self_consumed_kwh=int(o.self_consumed_kwh[0]),
                annual_savings_gbp=dom.pence_round(o.annual_savings_gbp[0]),
                price_gbp=o.price_gbp[0],
                market_price_gbp=o.market_price_gbp[0],
                payback_years=None if pb == float("inf") else float(pb),
                group_price=tiers is not None,
                notes=tuple(o.notes[0]),
            )
        )
    return result


def meter_annual_use_kwh(site: Site) -> int | None:
    """The site's import over the last 365 days from its settlement meter, if it has a full enough year."""
    from datetime import timedelta

    from django.db.models import Count, Sum

    from assets.models import IntervalReading, Meter

    end = timezone.now()
    agg = IntervalReading.objects.filter(
        meter__site=site, meter__kind=Meter.Kind.SITE, period_start__gte=end - timedelta(days=365), period_start__lt=end
    ).aggregate(wh=Sum("import_wh"), n=Count("id"), minutes=Sum("period_minutes"))
    if not agg["n"]:
        return site.annual_consumption_kwh
    covered_days = (agg["minutes"] or 0) / 1440.0
    if covered_days < 7:
        return site.annual_consumption_kwh
    return int(round(agg["wh"] / 1000.0 * 365.0 / min(365.0, covered_days)))


def registration_submit(
    *,
    campaign: Campaign,
    user: Any,
    packages: list[Package],
    home: dict[str, Any],
    site: Site | None = None,
    now: datetime | None = None,
    actor: Any = None,
) -> tuple[Registration, list[Estimate]]:
    """Register a household for the chosen packages; refused if any package cannot be offered for this home."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.OPEN or now >= campaign.registration_closes:
        raise DomainError("Registration for this campaign has closed.", field="packages")
    if not packages:
        raise DomainError("Choose at least one package.", field="packages")
    if any(p.campaign_id != campaign.pk for p in packages):
        raise DomainError("A chosen package belongs to another campaign.", field="packages")
    if site is not None and site.community_id != campaign.community_id:
        raise DomainError("That home is in another community.", field="site")
    home = dict(home)
    from_meter = False
    if home.get("annual_use_kwh") in (None, "") and site is not None:
        use = meter_annual_use_kwh(site)
        if use:
            home["annual_use_kwh"] = use
            from_meter = True
    estimates = registration_estimate(campaign=campaign, packages=packages, home=home)
    refused = [e for e in estimates if not e.eligible]
    if refused:
        e = refused[0]
        field = "roof_area_m2" if "Roof too small" in e.reason else ("fuse_a" if "fuse" in e.reason else "shading")
        raise DomainError(f"{e.package.name}: {e.reason}", field=field)
    clean = _clean_home(home)
    with transaction.atomic():
        if Registration.objects.filter(campaign=campaign, user=user).exists():
            raise DomainError("This household is already registered for the campaign.", field="packages")
        reg = Registration.objects.create(
            campaign=campaign,
            user=user,
            site=site,
            latitude=clean["lat"].quantize(Decimal("0.000001")),
            longitude=clean["lon"].quantize(Decimal("0.000001")),
            roof_area_m2=clean["roof_area_m2"].quantize(Decimal("0.1")),
            azimuth_deg=int(clean["azimuth_deg"]),
            tilt_deg=int(clean["tilt_deg"]),
            shading=clean["shading"],
            fuse_a=int(clean["fuse_a"]),
            annual_use_kwh=int(clean["annual_use_kwh"]),
            use_from_meter=from_meter,
            floor_area_m2=int(clean["floor_area_m2"]),
            ev_miles=int(clean["ev_miles"]),
        )
        reg.packages.set(packages)
        audit_record(
            actor=actor or user,
            action="purchasing.registration_submit",
            community=campaign.community,
            obj=reg,
            summary=f"Registered for {', '.join(p.name for p in packages)} in {campaign.name}",
        )
    return reg, estimates
