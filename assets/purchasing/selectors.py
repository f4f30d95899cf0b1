"""Read paths shared by views, the API and tasks. Bids stay sealed here: nobody
but the bidder sees a bid's prices before the campaign's deadline has passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from .models import Bid, Campaign, Complaint, Deposit, Installation, Installer, Offer, Package, Registration

ACCEPTED = (Offer.Status.ACCEPTED, Offer.Status.CONFIRMED, Offer.Status.INSTALLED, Offer.Status.ADJUSTED)


def campaigns(community) -> QuerySet[Campaign]:
    return Campaign.objects.filter(community=community).prefetch_related("packages")


def installer_for(user, community) -> Installer | None:
    return Installer.objects.filter(community=community, user=user).first()


def bids_visible(package: Package, *, installer: Installer | None, now: datetime | None = None) -> QuerySet[Bid]:
    """Sealed: before the deadline an installer sees only its own bid, and nobody else any."""
    now = now or timezone.now()
    qs = Bid.objects.filter(package=package).select_related("installer")
    if now < package.campaign.bid_deadline:
        return qs.filter(installer=installer) if installer else qs.none()
    return qs


@dataclass(frozen=True)
class CampaignStats:
    registrations: int
    offers: int
    accepted: int
    installed: int
    installed_kwp: Decimal
    acceptance_rate: float
    deposits_held_gbp: Decimal
    group_price_gbp: Decimal  # sum of accepted offers
    market_price_gbp: Decimal  # what the same kit costs buying alone
    annual_savings_gbp: Decimal
    households_accepted: int = 0

    @property
    def saving_per_home_gbp(self) -> Decimal:
        return (
            (self.saving_vs_alone_gbp / self.households_accepted).quantize(Decimal("1"))
            if self.households_accepted
            else Decimal(0)
        )

    @property
    def bill_savings_per_home_gbp(self) -> Decimal:
        return (
            (self.annual_savings_gbp / self.households_accepted).quantize(Decimal("1"))
            if self.households_accepted
            else Decimal(0)
        )

    @property
    def saving_vs_alone_gbp(self) -> Decimal:
        return self.market_price_gbp - self.group_price_gbp

    @property
    def saving_vs_alone_pct(self) -> float:
        return float(self.saving_vs_alone_gbp / self.market_price_gbp * 100) if self.market_price_gbp else 0.0


def campaign_stats(campaign: Campaign) -> CampaignStats:
    offers = Offer.objects.filter(registration__campaign=campaign)
    counts = offers.aggregate(
        n=Count("id"),
        accepted=Count("id", filter=Q(status__in=ACCEPTED)),
        installed=Count("id", filter=Q(status=Offer.Status.INSTALLED)),
        kwp=Sum("size", filter=Q(status=Offer.Status.INSTALLED, package__kind="pv")),
        price=Sum("price_gbp", filter=Q(status__in=ACCEPTED)),
        market=Sum("market_price_gbp", filter=Q(status__in=ACCEPTED)),
        savings=Sum("annual_savings_gbp", filter=Q(status__in=ACCEPTED)),
    )
    offered_households = offers.values("registration").distinct().count()
    accepted_households = offers.filter(status__in=ACCEPTED).values("registration").distinct().count()
    held = Deposit.objects.filter(offer__registration__campaign=campaign, status=Deposit.Status.HELD).aggregate(
        a=Sum("amount_gbp"), r=Sum("refunded_gbp")
    )
    return CampaignStats(
        registrations=Registration.objects.filter(campaign=campaign).count(),
        offers=counts["n"],
        accepted=counts["accepted"],
        installed=counts["installed"],
        installed_kwp=(counts["kwp"] or Decimal("0")).quantize(Decimal("0.01")),
        acceptance_rate=(accepted_households / offered_households) if offered_households else 0.0,
        deposits_held_gbp=(held["a"] or Decimal("0")) - (held["r"] or Decimal("0")),
        group_price_gbp=counts["price"] or Decimal("0"),
        market_price_gbp=counts["market"] or Decimal("0"),
        annual_savings_gbp=counts["savings"] or Decimal("0"),
        households_accepted=accepted_households,
    )


def package_savings(campaign: Campaign) -> list[dict[str, Any]]:
    """Per package: mean group price and market price per unit over its offers."""
    out = []
    for p in campaign.packages.all():
        agg = Offer.objects.filter(package=p).aggregate(
            size=Sum("size"), price=Sum("price_gbp"), market=Sum("market_price_gbp"), n=Count("id")
        )
        if not agg["n"] or not agg["size"]:
            continue
        out.append(
            {
                "package": p,
                "offers": agg["n"],
                "group_per_unit": (agg["price"] / agg["size"]).quantize(Decimal("1")),
                "market_per_unit": (agg["market"] / agg["size"]).quantize(Decimal("1")),
                "saving_pct": float((agg["market"] - agg["price"]) / agg["market"] * 100) if agg["market"] else 0.0,
            }
        )
    return out


def installer_progress(campaign: Campaign, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each installer's jobs: done, in hand, and what its weekly capacity allows since the award."""
    now = now or timezone.now()
    weeks = max(1.0, (now - campaign.awarded_at).days / 7.0) if campaign.awarded_at else 1.0
    weeks = min(weeks, campaign.install_weeks)
    rows = []
    for inst in Installer.objects.filter(offers__registration__campaign=campaign).distinct():
        jobs = Offer.objects.filter(registration__campaign=campaign, installer=inst)
        done = jobs.filter(status=Offer.Status.INSTALLED).count()
        in_hand = jobs.filter(status__in=[Offer.Status.ACCEPTED, Offer.Status.CONFIRMED, Offer.Status.ADJUSTED]).count()
        rows.append(
            {
                "installer": inst,
                "done": done,
                "in_hand": in_hand,
                "capacity": int(inst.capacity_per_week * weeks),
                "capacity_total": inst.capacity_per_week * campaign.install_weeks,
                "late": sum(1 for i in Installation.objects.filter(offer__in=jobs) if i.late),
                "complaints": Complaint.objects.filter(campaign=campaign, installer=inst).count(),
            }
        )
    return rows


def installed_over_time(campaign: Campaign) -> list[tuple[datetime, float]]:
    rows = (
        Installation.objects.filter(
            offer__registration__campaign=campaign, offer__package__kind="pv", commissioned_at__isnull=False
        )
        .order_by("commissioned_at")
        .values_list("commissioned_at", "offer__size")
    )
    total, out = 0.0, []
    for t, size in rows:
        total += float(size)
        out.append((t, round(total, 2)))
    return out


def my_registration(campaign: Campaign, user) -> Registration | None:
    return Registration.objects.filter(campaign=campaign, user=user).prefetch_related("packages").first()


def my_offers(registration: Registration) -> QuerySet[Offer]:
    return registration.offers.select_related("package", "installer").prefetch_related("complaints")


def jobs_for(community, user, *, operator: bool) -> QuerySet[Offer]:
    qs = Offer.objects.filter(
        registration__campaign__community=community,
        status__in=[Offer.Status.ACCEPTED, Offer.Status.ADJUSTED, Offer.Status.CONFIRMED, Offer.Status.INSTALLED],
    ).select_related("registration__user", "registration__campaign", "package", "installer")
    if not operator:
        qs = qs.filter(installer__user=user)
    return qs.order_by("registration__campaign", "status", "pk")


def installer_records(community) -> list[dict[str, Any]]:
    from .services.auction import quality_of

    out = []
    for inst in Installer.objects.filter(community=community):
        q, rec = quality_of(inst)
        out.append({"installer": inst, "quality": q, **rec})
    return out
