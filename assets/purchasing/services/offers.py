"""Personal offers, acceptance with a refundable deposit held in escrow, survey outcomes and refunds.

Ledger (per campaign, ``purchasing:<campaign>:...``):
- deposit paid:    Dr client account / Cr escrow          (the household's money, held)
- deposit refund:  Dr escrow / Cr client account          (paid back; never more than is held)
- deposit applied: Dr escrow / Cr owed to the installer   (counts towards the invoice at commissioning)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain import offers as dom
from ..models import Campaign, Deposit, Installation, Offer, Registration
from ._common import (
    bank_account,
    escrow_account,
    homes_from,
    registration_row,
    tariff_for,
    terms_for,
    tiers_of,
    winning_bid,
)

LIVE = (Offer.Status.OFFERED, Offer.Status.ACCEPTED, Offer.Status.ADJUSTED, Offer.Status.CONFIRMED)


def offers_issue(*, campaign: Campaign, now: datetime | None = None, actor: Any = None) -> int:
    """A personal offer for every registration and package from the winning prices (idempotent)."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.AWARDED:
        raise DomainError("Offers go out after the auction has been evaluated.", field="status")
    created = 0
    shape = dom.demand_shape()
    tariff = tariff_for(campaign)
    expires = now + timedelta(days=campaign.decision_days)
    with transaction.atomic():
        regs = list(Registration.objects.filter(campaign=campaign).prefetch_related("packages", "offers"))
        packages = list(campaign.packages.all())
        pv_by_reg: dict[int, float] = {}
        for package in sorted(packages, key=lambda p: p.kind != "pv"):  # PV first: a battery's savings need it
            bid = winning_bid(package)
            if bid is None:
                continue
            rows = [r for r in regs if any(p.pk == package.pk for p in r.packages.all())]
            if not rows:
                continue
            h = homes_from([registration_row(r) for r in rows])
            pv = [pv_by_reg.get(r.pk, 0.0) for r in rows]
            o = dom.personal_offers(h, terms_for(package, tiers_of(bid)), demand_shape=shape, tariff=tariff, pv_kwp=pv)
            have = set(Offer.objects.filter(package=package).values_list("registration_id", flat=True))
            new = []
            for i, reg in enumerate(rows):
                if package.kind == "pv":
                    pv_by_reg[reg.pk] = float(o.size[i])
                if reg.pk in have or not o.eligible[i]:
                    continue
                pb = o.payback_years[i]
                new.append(
                    Offer(
                        registration=reg,
                        package=package,
                        installer_id=package.winner_id,
                        size=Decimal(str(round(float(o.size[i]), 2))),
                        price_gbp=o.price_gbp[i],
                        market_price_gbp=o.market_price_gbp[i],
                        annual_yield_kwh=int(o.annual_yield_kwh[i]),
                        annual_savings_gbp=dom.pence_round(o.annual_savings_gbp[i]),
                        payback_years=None if pb == float("inf") else Decimal(str(pb)),
                        notes=o.notes[i],
                        expires_at=expires,
                    )
                )
            Offer.objects.bulk_create(new, batch_size=1000)
            created += len(new)
        Registration.objects.filter(campaign=campaign, offers__isnull=False).update(status=Registration.Status.OFFERED)
        audit_record(
            actor=actor,
            action="purchasing.offers_issue",
            community=campaign.community,
            obj=campaign,
            summary=f"{created} personal offers issued",
        )
    return created


def _own(offer: Offer, user: Any) -> None:
    if offer.registration.user_id != getattr(user, "pk", None):
        raise DomainError("Only the household that registered can decide on this offer.", field="offer")


def offer_accept(*, offer: Offer, user: Any, now: datetime | None = None, actor: Any = None) -> Offer:
    """Accept an offer: the deposit is paid into escrow (once); an adjusted price is accepted again."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = Offer.objects.select_for_update().select_related("registration__campaign", "package").get(pk=offer.pk)
        _own(offer, user)
        campaign = offer.registration.campaign
        if offer.status in (Offer.Status.ACCEPTED, Offer.Status.CONFIRMED, Offer.Status.INSTALLED):
            raise DomainError("You have already accepted this offer.", field="offer", code="already_accepted")
        if offer.status != Offer.Status.ADJUSTED and offer.status != Offer.Status.OFFERED:
            raise DomainError(
                f"This offer is {offer.get_status_display().lower()} and can no longer be accepted.", field="offer"
            )
        if offer.status == Offer.Status.OFFERED and now > offer.expires_at:
            raise DomainError(
                f"The decision window closed on {timezone.localtime(offer.expires_at):%d %b %Y}.", field="offer"
            )
        readjusted = offer.status == Offer.Status.ADJUSTED
        offer.status = Offer.Status.ACCEPTED
        offer.accepted_at = now
        offer.save(update_fields=["status", "accepted_at"])
        if not Deposit.objects.filter(offer=offer).exists() and campaign.deposit_gbp > 0:
            deposit = Deposit.objects.create(offer=offer, amount_gbp=campaign.deposit_gbp)
            ledger_post(
                community=campaign.community,
                lines=[
                    (bank_account(campaign), campaign.deposit_gbp),
                    (escrow_account(campaign), -campaign.deposit_gbp),
                ],
                memo=f"Deposit for {offer.package.name}, {offer.registration.user.get_full_name() or offer.registration.user}",
                source="purchasing",
                idempotency_key=f"purchasing:deposit:{deposit.pk}:paid",
                reference=f"offer {offer.pk}",
                actor=actor or user,
            )
        audit_record(
            actor=actor or user,
            action="purchasing.offer_accept",
            community=campaign.community,
            obj=offer,
            summary=f"Offer {offer.pk} {'re-' if readjusted else ''}accepted at £{offer.price_gbp:,.2f}",
        )
    return offer


def _refund(deposit: Deposit, amount: Decimal, reason: str, actor: Any) -> Deposit:
    """Refund (part of) a held deposit; refused if more than is held. Caller holds the transaction."""
    deposit = Deposit.objects.select_for_update().select_related("offer__registration__campaign").get(pk=deposit.pk)
    if deposit.status == Deposit.Status.APPLIED:
        raise DomainError("This deposit has been applied to the invoice; it cannot be refunded.", field="amount")
    held = deposit.amount_gbp - deposit.refunded_gbp
    if amount <= 0:
        raise DomainError("A refund must be more than zero.", field="amount")
    if amount > held:
        raise DomainError(
            f"A refund of £{amount:,.2f} is more than the £{held:,.2f} held for this deposit.", field="amount"
        )
    campaign = deposit.offer.registration.campaign
    deposit.refunded_gbp += amount
    if deposit.refunded_gbp == deposit.amount_gbp:
        deposit.status = Deposit.Status.REFUNDED
    deposit.save(update_fields=["refunded_gbp", "status"])
    ledger_post(
        community=campaign.community,
        lines=[(escrow_account(campaign), amount), (bank_account(campaign), -amount)],
        memo=f"Deposit refund: {reason}"[:200],
        source="purchasing",
        # the running total refunded is unique per refund (each one is more than zero)
        idempotency_key=f"purchasing:deposit:{deposit.pk}:refunded-to:{deposit.refunded_gbp}",
        reference=f"offer {deposit.offer_id}",
        actor=actor,
    )
    return deposit


def deposit_refund(*, deposit: Deposit, amount: Decimal | str, reason: str, actor: Any = None) -> Deposit:
    try:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(f"{amount!r} is not an amount of money.", field="amount") from None
    if not reason.strip():
        raise DomainError("Say why the deposit is refunded.", field="reason")
    with transaction.atomic():
        deposit = _refund(deposit, amount, reason, actor)
        audit_record(
            actor=actor,
            action="purchasing.deposit_refund",
            community=deposit.offer.registration.campaign.community,
            obj=deposit,
            summary=f"£{amount:,.2f} of deposit {deposit.pk} refunded: {reason}",
        )
    return deposit


def _refund_all(offer: Offer, reason: str, actor: Any) -> None:
    deposit = Deposit.objects.filter(offer=offer).first()
    if deposit is not None and deposit.status == Deposit.Status.HELD and deposit.held_gbp > 0:
        _refund(deposit, deposit.held_gbp, reason, actor)


def offer_decline(*, offer: Offer, user: Any, actor: Any = None) -> Offer:
    """Decline an offer (or withdraw before the survey): any deposit is refunded in full."""
    with transaction.atomic():
        offer = Offer.objects.select_for_update().select_related("registration__campaign").get(pk=offer.pk)
        _own(offer, user)
        if offer.status not in (Offer.Status.OFFERED, Offer.Status.ACCEPTED, Offer.Status.ADJUSTED):
            raise DomainError(
                f"This offer is {offer.get_status_display().lower()}; it cannot be declined now.", field="offer"
            )
        _refund_all(offer, "household declined the offer", actor or user)
        offer.status = Offer.Status.DECLINED
        offer.save(update_fields=["status"])
        audit_record(
            actor=actor or user,
            action="purchasing.offer_decline",
            community=offer.registration.campaign.community,
            obj=offer,
            summary=f"Offer {offer.pk} declined",
        )
    return offer


def offers_expire(*, now: datetime | None = None) -> int:
    """Offers not accepted within their decision window expire (idempotent; beat runs it daily)."""
    now = now or timezone.now()
    return Offer.objects.filter(status=Offer.Status.OFFERED, expires_at__lt=now).update(status=Offer.Status.EXPIRED)


SURVEY_OUTCOMES = ("confirm", "adjust", "cancel")


def survey_record(
    *,
    offer: Offer,
    outcome: str,
    new_price_gbp: Decimal | str | None = None,
    reason: str = "",
    survey_on=None,
    actor: Any = None,
) -> Offer:
    """The installer's survey: confirm (installation scheduled), adjust (a new price, the household accepts
    again) or cancel (the deposit is refunded in full)."""
    if outcome not in SURVEY_OUTCOMES:
        raise DomainError("The survey outcome is confirm, adjust or cancel.", field="outcome")
    with transaction.atomic():
        offer = Offer.objects.select_for_update().select_related("registration__campaign", "installer").get(pk=offer.pk)
        if offer.status != Offer.Status.ACCEPTED:
            raise DomainError(
                f"Only an accepted offer can be surveyed (this one is {offer.get_status_display().lower()}).",
                field="outcome",
            )
        campaign = offer.registration.campaign
        today = timezone.localdate()
        if outcome == "confirm":
            offer.status = Offer.Status.CONFIRMED
            offer.status_reason = reason or "Survey confirmed the offer."
            Installation.objects.get_or_create(
                offer=offer,
                defaults={
                    "installer": offer.installer,
                    "survey_on": survey_on or today,
                    "install_by": today + timedelta(weeks=campaign.install_weeks),
                },
            )
        elif outcome == "adjust":
            try:
                price = Decimal(str(new_price_gbp)).quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError, TypeError):
                raise DomainError("An adjusted offer needs the new price.", field="new_price_gbp") from None
            if price <= 0:
                raise DomainError("The new price must be more than zero.", field="new_price_gbp")
            if not reason.strip():
                raise DomainError("Say what the survey found that changes the price.", field="reason")
            offer.status_reason = f"Survey: {reason} New price £{price:,.2f} (was £{offer.price_gbp:,.2f})."
            offer.price_gbp = price
            if offer.annual_savings_gbp > 0:
                offer.payback_years = (price / offer.annual_savings_gbp).quantize(Decimal("0.1"))
            offer.status = Offer.Status.ADJUSTED
        else:
            if not reason.strip():
                raise DomainError("Say why the survey cancels the installation.", field="reason")
            _refund_all(offer, f"survey cancelled: {reason}", actor)
            offer.status = Offer.Status.CANCELLED
            offer.status_reason = f"Survey: {reason}"
        offer.save()
        audit_record(
            actor=actor,
            action="purchasing.survey_record",
            community=campaign.community,
            obj=offer,
            summary=f"Survey of offer {offer.pk}: {outcome}",
        )
    return offer


def deposit_apply(*, offer: Offer, actor: Any = None) -> Deposit | None:
    """At commissioning the held deposit counts towards the installer's invoice (idempotent)."""
    from ._common import installer_payable

    deposit = Deposit.objects.select_for_update().filter(offer=offer).first()
    if deposit is None or deposit.status != Deposit.Status.HELD:
        return deposit
    campaign = offer.registration.campaign
    held = deposit.amount_gbp - deposit.refunded_gbp
    deposit.status = Deposit.Status.APPLIED
    deposit.save(update_fields=["status"])
    if held > 0:
        ledger_post(
            community=campaign.community,
            lines=[(escrow_account(campaign), held), (installer_payable(campaign, offer.installer), -held)],
            memo=f"Deposit applied to {offer.installer.company}'s invoice for offer {offer.pk}",
            source="purchasing",
            idempotency_key=f"purchasing:deposit:{deposit.pk}:applied",
            reference=f"offer {offer.pk}",
            actor=actor,
        )
    return deposit
