"""Build co-op objects through the real services (no shortcuts past validation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from assets.coop import services
from assets.coop.models import Society

OPENS, CLOSES = date(2025, 1, 1), date(2025, 3, 31)


def make_society(world, name: str = "Test Green Energy", **rules) -> Society:
    return services.society_create(community=world.community, name=name, actor=world.users["treasurer"], **rules)


def make_offer(society, code: str = "SOL", **terms):
    args = {
        "min_raise": Decimal(1000),
        "target_raise": Decimal(3000),
        "max_raise": Decimal(5000),
        "min_application": Decimal(100),
        "max_application": Decimal(5000),
    }
    args.update(terms)
    return services.offer_create(
        society=society, title=f"{code} share offer", code=code, opens_on=OPENS, closes_on=CLOSES, **args
    )


def apply_and_pay(offer, name: str, amount, *, user=None, paid=None, sort_code="12-34-56", account="12345678"):
    app = services.application_submit(
        offer=offer,
        amount=Decimal(amount),
        today=OPENS,
        user=user,
        full_name=name,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        address=f"{len(name)} Solar Street",
        postcode="TE1 1ST",
        sort_code=sort_code,
        account_number=account,
    )
    if paid is None:
        paid = amount
    if paid:
        services.payment_record(application=app, amount=Decimal(paid), received_on=OPENS)
    return app


def funded_society(world, holdings: dict[str, int], *, name="Test Green Energy", allot_on=CLOSES, **rules):
    """A society whose members hold the given £ after an offer closed on ``allot_on``."""
    society = make_society(world, name=name, **rules)
    total = sum(holdings.values())
    offer = make_offer(
        society,
        min_raise=Decimal(min(total, 1000)),
        target_raise=Decimal(total),
        max_raise=Decimal(total),
        max_application=Decimal(max(holdings.values())),
        min_application=Decimal(min(holdings.values())),
    )
    for person, amount in holdings.items():
        apply_and_pay(offer, person, amount)
    services.offer_close(offer=offer, today=allot_on, early=allot_on < offer.closes_on)
    return society
