"""Recording members' payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.services import EntrySpec, audit_record, ledger_post_many
from lem.models import (
    Participant,
    Payment,
)
from lem.services.base import _decimal, _is_operator
from lem.services.orders import member_account
from lem.services.settlement import _account


@transaction.atomic
def payment_record(
    *, participant: Participant, actor: Any, amount: Any, reference: str, received_at: datetime | None = None
) -> Payment:
    market = participant.market
    if not (_is_operator(actor, market.community) or getattr(actor, "is_superuser", False)):
        raise DomainError("Only the market operator records payments.", code="forbidden")
    amt = _decimal(amount, "The amount", "amount")
    if amt == 0 or amt != amt.quantize(Decimal("0.01")):
        raise DomainError("The amount must be non-zero pounds and pence.", field="amount")
    reference = (reference or "").strip()
    if not reference:
        raise DomainError("A payment needs the bank reference.", field="reference")
    if Payment.objects.filter(participant=participant, reference=reference).exists():
        raise DomainError("A payment with that reference is already recorded.", field="reference")
    pay = Payment.objects.create(
        participant=participant,
        amount=amt,
        reference=reference,
        received_at=received_at or timezone.now(),
        recorded_by=actor,
    )
    cache: dict = {}
    ledger_post_many(
        community=market.community,
        entries=[
            EntrySpec(
                lines=[(_account(market, "bank", cache), amt), (member_account(participant), -amt)],
                memo=f"Payment from {participant.pseudonym} ({reference})",
                source="lem.payments",
                idempotency_key=f"lem:payment:{pay.pk}",
                effective_at=pay.received_at,
                reference=reference,
            )
        ],
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="lem.payment_record",
        summary=f"Recorded £{amt} from {participant.pseudonym}",
        community=market.community,
        obj=pay,
    )
    return pay
