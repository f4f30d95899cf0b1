"""Installers: qualification before bidding, sealed bids, evaluation after the deadline,
and the failure of a winning installer (the reserve takes over; deposits stay in escrow)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from community.errors import DomainError
from community.models import Community, Role
from community.services.audit import audit_record

from ..domain import auction as dom_auction
from ..domain import offers as dom
from ..models import Bid, Campaign, Installer, Offer, Package, Registration
from ._common import homes_from, registration_row, tariff_for, terms_for, tiers_of

# What qualification demands (Solar Together's vetting: certification, insurance, financial checks).
MIN_INSURANCE_GBP = Decimal("2000000")
MIN_FINANCIAL_HEALTH = 40


def installer_apply(
    *,
    community: Community,
    user: Any,
    company: str,
    certification: str,
    certificate_number: str,
    certificate_expires: date,
    insurance_cover_gbp: Decimal,
    insurance_expires: date,
    financial_health: int,
    capacity_per_week: int,
    kinds: list[str],
    actor: Any = None,
) -> Installer:
    from community.access import has_role

    if not has_role(user, community, Role.SUPPLIER):
        raise DomainError("Only a supplier of this community can apply as an installer.", field="company")
    if not company.strip():
        raise DomainError("Give the company's name.", field="company")
    if not 0 <= int(financial_health) <= 100:
        raise DomainError("Financial health is a score from 0 to 100.", field="financial_health")
    if int(capacity_per_week) < 1:
        raise DomainError("Capacity must be at least one installation a week.", field="capacity_per_week")
    bad = set(kinds) - {k for k, _ in dom.UNITS.items()}
    if not kinds or bad:
        raise DomainError("Choose the package kinds you are certified to install.", field="kinds")
    with transaction.atomic():
        installer, created = Installer.objects.select_for_update().get_or_create(
            community=community,
            user=user,
            defaults=dict(
                company=company.strip(),
                certification=certification,
                certificate_number=certificate_number,
                certificate_expires=certificate_expires,
                insurance_cover_gbp=insurance_cover_gbp,
                insurance_expires=insurance_expires,
                financial_health=int(financial_health),
                capacity_per_week=int(capacity_per_week),
                kinds=list(kinds),
            ),
        )
        if not created:
            if installer.status == Installer.Status.SUSPENDED:
                raise DomainError("A suspended installer cannot re-apply in this community.", field="company")
            for k, v in dict(
                company=company.strip(),
                certification=certification,
                certificate_number=certificate_number,
                certificate_expires=certificate_expires,
                insurance_cover_gbp=insurance_cover_gbp,
                insurance_expires=insurance_expires,
                financial_health=int(financial_health),
                capacity_per_week=int(capacity_per_week),
                kinds=list(kinds),
                status=Installer.Status.APPLIED,
                status_reason="",
            ).items():
                setattr(installer, k, v)
            installer.save()
        audit_record(
            actor=actor or user,
            action="purchasing.installer_apply",
            community=community,
            obj=installer,
            summary=f"{installer.company} applied to install",
        )
    return installer


def qualification_problems(installer: Installer, today: date) -> list[str]:
    problems = []
    if not installer.certificate_number.strip():
        problems.append("no certificate number")
    if installer.certificate_expires < today:
        problems.append(f"{installer.certification} certificate expired on {installer.certificate_expires:%d %b %Y}")
    if installer.insurance_expires < today:
        problems.append(f"insurance expired on {installer.insurance_expires:%d %b %Y}")
    if installer.insurance_cover_gbp < MIN_INSURANCE_GBP:
        problems.append(f"insurance cover £{installer.insurance_cover_gbp:,.0f} is below £{MIN_INSURANCE_GBP:,.0f}")
    if installer.financial_health < MIN_FINANCIAL_HEALTH:
        problems.append(f"financial health {installer.financial_health} is below {MIN_FINANCIAL_HEALTH}")
    return problems


def installer_review(
    *, installer: Installer, approve: bool, reason: str = "", today: date | None = None, actor: Any = None
) -> Installer:
    """Qualify (if every check passes) or reject an applicant."""
    today = today or timezone.localdate()
    with transaction.atomic():
        installer = Installer.objects.select_for_update().get(pk=installer.pk)
        if installer.status == Installer.Status.SUSPENDED:
            raise DomainError("This installer is suspended.", field="status")
        if approve:
            problems = qualification_problems(installer, today)
            if problems:
                raise DomainError(f"{installer.company} cannot qualify: {'; '.join(problems)}.", field="status")
            installer.status = Installer.Status.QUALIFIED
            installer.status_reason = reason or "All checks passed."
        else:
            if not reason.strip():
                raise DomainError("Say why the application is rejected.", field="reason")
            installer.status = Installer.Status.REJECTED
            installer.status_reason = reason
        installer.reviewed_at = timezone.now()
        installer.save(update_fields=["status", "status_reason", "reviewed_at"])
        audit_record(
            actor=actor,
            action="purchasing.installer_review",
            community=installer.community,
            obj=installer,
            summary=f"{installer.company}: {installer.get_status_display()}",
        )
    return installer


def _parse_tiers(tiers: list[dict], package: Package) -> list[dict]:
    try:
        parsed = [
            (float(t["up_to"]), Decimal(str(t["price_per_unit"]))) for t in tiers if str(t.get("up_to", "")).strip()
        ]
    except (KeyError, TypeError, ValueError, InvalidOperation):
        raise DomainError("Each tier needs a size ('up to') and a price per unit.", field="tiers") from None
    try:
        dom.validate_tiers(tuple(parsed), min_size=float(package.min_size), max_size=float(package.max_size))
    except dom.OfferInputError as exc:
        raise DomainError(str(exc), field="tiers") from None
    return [{"up_to": u, "price_per_unit": str(p.quantize(Decimal("0.01")))} for u, p in parsed]


def bid_submit(
    *, package: Package, installer: Installer, tiers: list[dict], now: datetime | None = None, actor: Any = None
) -> Bid:
    """A sealed bid (or its replacement) before the deadline, from a qualified installer."""
    now = now or timezone.now()
    campaign = package.campaign
    if installer.community_id != campaign.community_id:
        raise DomainError("This installer is not registered in the campaign's community.", field="tiers")
    if installer.status != Installer.Status.QUALIFIED:
        raise DomainError(
            f"{installer.company} is not qualified ({installer.get_status_display().lower()}): bids are accepted only "
            "after qualification.",
            field="tiers",
        )
    if package.kind not in installer.kinds:
        raise DomainError(f"{installer.company} is not certified for {package.get_kind_display()}.", field="tiers")
    if campaign.status != Campaign.Status.OPEN or now >= campaign.bid_deadline:
        raise DomainError(
            f"The bid deadline ({timezone.localtime(campaign.bid_deadline):%d %b %Y %H:%M}) has passed.", field="tiers"
        )
    clean = _parse_tiers(tiers, package)
    with transaction.atomic():
        bid, created = Bid.objects.update_or_create(
            package=package, installer=installer, defaults={"tiers": clean, "submitted_at": now}
        )
        audit_record(
            actor=actor or installer.user,
            action="purchasing.bid_submit",
            community=campaign.community,
            obj=bid,
            summary=f"Sealed bid {'submitted' if created else 'replaced'} by {installer.company} for {package.name}",
        )
    return bid


def installer_record(installer: Installer) -> dict[str, int]:
    """Installs, upheld complaints and late installs across the installer's earlier work (any campaign)."""
    from ..models import Complaint, Installation

    done = Installation.objects.filter(installer=installer, installed_on__isnull=False)
    return {
        "installs": done.count(),
        "late": sum(1 for i in done.only("install_by", "installed_on") if i.late),
        "complaints": Complaint.objects.filter(installer=installer, status=Complaint.Status.UPHELD).count(),
        "open_complaints": Complaint.objects.filter(installer=installer, status__in=["open", "disputed"]).count(),
    }


def quality_of(installer: Installer) -> tuple[float, dict[str, int]]:
    rec = installer_record(installer)
    q = dom_auction.quality_score(
        financial_health=installer.financial_health,
        insurance_cover_gbp=installer.insurance_cover_gbp,
        installs=rec["installs"],
        complaints=rec["complaints"],
        late=rec["late"],
    )
    return q, rec


def basket_sizes(package: Package) -> np.ndarray:
    """Indicative sizes of the households registered for the package (the auction's basket)."""
    regs = list(Registration.objects.filter(packages=package))
    if not regs:
        return np.array([float(package.min_size)])
    h = homes_from([registration_row(r) for r in regs])
    o = dom.personal_offers(h, terms_for(package), demand_shape=dom.demand_shape(), tariff=tariff_for(package.campaign))
    sizes = o.size[o.eligible]
    return sizes if sizes.size else np.array([float(package.min_size)])


def _evaluate_package(package: Package) -> dom_auction.Evaluation:
    campaign = package.campaign
    bids = list(package.bids.select_related("installer"))
    sizes = basket_sizes(package)
    inputs, meta = [], {}
    for bid in bids:
        inst = bid.installer
        if inst.status != Installer.Status.QUALIFIED:
            continue
        q, rec = quality_of(inst)
        inputs.append(dom_auction.BidIn(inst.pk, tiers_of(bid), q, inst.capacity_per_week))
        meta[inst.pk] = (inst, rec)
    ev = dom_auction.evaluate(
        inputs,
        basket_sizes=sizes,
        price_weight=campaign.price_weight,
        quality_weight=campaign.quality_weight,
        expected_installs=int(np.ceil(len(sizes) * 0.3)),  # Solar Together London: ~28 % accept
        install_weeks=campaign.install_weeks,
    )
    package.evaluation = [
        {
            "installer_id": r.installer_id,
            "company": meta[r.installer_id][0].company,
            "basket_cost": str(r.basket_cost),
            "basket_size": round(float(sizes.sum()), 2),
            "price_score": r.price_score,
            "quality_score": r.quality_score,
            "total": r.total,
            "rank": r.rank,
            "excluded": r.excluded,
            "record": meta[r.installer_id][1],
        }
        for r in ev.rows
    ]
    package.winner_id = ev.winner
    package.reserve_id = ev.reserve
    package.save(update_fields=["evaluation", "winner", "reserve"])
    return ev


def auction_evaluate(*, campaign: Campaign, now: datetime | None = None, actor: Any = None) -> Campaign:
    """Open the sealed bids (only after the deadline), rank them and name a winner and a reserve per package.

    Idempotent: an awarded campaign is returned as it is.
    """
    now = now or timezone.now()
    if now < campaign.bid_deadline:
        raise DomainError(
            f"Bids are sealed until the deadline ({timezone.localtime(campaign.bid_deadline):%d %b %Y %H:%M}).",
            field="bid_deadline",
        )
    with transaction.atomic():
        if (
            Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.OPEN).update(
                status=Campaign.Status.AWARDED, awarded_at=now
            )
            != 1
        ):
            campaign.refresh_from_db()
            return campaign
        campaign.refresh_from_db()
        summary = []
        for package in campaign.packages.all():
            ev = _evaluate_package(package)
            summary.append(f"{package.name}: {len(ev.rows)} bids")
        audit_record(
            actor=actor,
            action="purchasing.auction_evaluate",
            community=campaign.community,
            obj=campaign,
            summary="Bids opened and evaluated: " + "; ".join(summary),
        )
    return campaign


def installer_fail(
    *, installer: Installer, reason: str, now: datetime | None = None, actor: Any = None
) -> dict[str, int]:
    """The installer loses certification mid-campaign: suspend it, let each package's reserve take over.

    Offers not yet installed move to the new installer at its own bid price: an
    accepted offer whose price rises must be accepted again (or cancelled with a
    full refund).  Deposits never moved to the installer: they stay in escrow.
    """
    from ..models import Installation

    if not reason.strip():
        raise DomainError("Say why the installer failed (e.g. 'MCS certification withdrawn').", field="reason")
    now = now or timezone.now()
    moved = repriced = 0
    with transaction.atomic():
        installer = Installer.objects.select_for_update().get(pk=installer.pk)
        if installer.status == Installer.Status.SUSPENDED:
            return {"moved": 0, "repriced": 0}
        installer.status = Installer.Status.SUSPENDED
        installer.status_reason = reason
        installer.save(update_fields=["status", "status_reason"])
        for package in Package.objects.filter(Q(winner=installer) | Q(reserve=installer)).select_related("campaign"):
            if package.reserve_id == installer.pk:
                package.reserve = _next_reserve(package, exclude={installer.pk, package.winner_id})
                package.save(update_fields=["reserve"])
                continue
            new = package.reserve
            if new is None or new.status != Installer.Status.QUALIFIED:
                new = _next_reserve(package, exclude={installer.pk})
            package.winner = new
            package.reserve = _next_reserve(package, exclude={installer.pk, new.pk if new else None})
            package.save(update_fields=["winner", "reserve"])
            if new is None:
                continue
            bid = Bid.objects.get(package=package, installer=new)
            terms = terms_for(package, tiers_of(bid))
            live = Offer.objects.filter(
                package=package,
                installer=installer,
                status__in=[Offer.Status.OFFERED, Offer.Status.ACCEPTED, Offer.Status.ADJUSTED, Offer.Status.CONFIRMED],
            ).select_for_update()
            for offer in live:
                base = dom.tier_price(terms.tiers, float(offer.size))
                price = max(Decimal("0.00"), base + terms.convenor_fee_gbp - terms.grant_gbp)
                old = offer.price_gbp
                offer.installer = new
                offer.price_gbp = price
                if offer.annual_savings_gbp > 0:
                    offer.payback_years = (price / offer.annual_savings_gbp).quantize(Decimal("0.1"))
                if price > old and offer.status in (Offer.Status.ACCEPTED, Offer.Status.CONFIRMED):
                    offer.status = Offer.Status.ADJUSTED
                    offer.status_reason = (
                        f"{installer.company} can no longer install ({reason}); {new.company}, the reserve, "
                        f"quotes £{price:,.2f} (was £{old:,.2f}). Accept the new price or cancel "
                        "for a full refund of your deposit."
                    )
                    repriced += 1
                else:
                    offer.status_reason = (
                        f"{new.company}, the reserve installer, takes over from {installer.company} ({reason})."
                    )
                offer.save()
                Installation.objects.filter(offer=offer, commissioned_at__isnull=True).update(installer=new)
                moved += 1
        audit_record(
            actor=actor,
            action="purchasing.installer_fail",
            community=installer.community,
            obj=installer,
            summary=f"{installer.company} suspended ({reason}); {moved} offers moved to the reserve, {repriced} to re-accept",
        )
    return {"moved": moved, "repriced": repriced}


def _next_reserve(package: Package, exclude: set) -> Installer | None:
    for row in sorted(package.evaluation, key=lambda r: r["rank"]):
        if row["installer_id"] in exclude or row["excluded"]:
            continue
        inst = Installer.objects.filter(pk=row["installer_id"], status=Installer.Status.QUALIFIED).first()
        if inst is not None:
            return inst
    return None
