"""Property: whatever households, installers and the convenor do, in any order, the escrow
account holds exactly the deposits not yet refunded or applied, no refund ever exceeds its
deposit, and the ledger chain verifies."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.purchasing import services
from assets.purchasing.models import Deposit, Offer
from community.errors import DomainError
from community.selectors import account_balances, ledger_verify
from tests.purchasing import helpers as H

OPS = st.lists(
    st.tuples(
        st.sampled_from(["accept", "decline", "refund", "adjust", "cancel", "confirm", "fail"]),
        st.integers(min_value=0, max_value=1),
        st.decimals(min_value=Decimal("-10"), max_value=Decimal("200"), places=2),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(ops=OPS)
def test_escrow_always_equals_the_deposits_still_held(world, ops):
    sid = transaction.savepoint()
    try:
        c, pv, bright, solid = H.awarded(world)
        offers = [Offer.objects.get(registration__user=u, package=pv) for u in (world.users["member"], world.neighbour)]
        users = [world.users["member"], world.neighbour]
        for op, who, amount in ops:
            offer = Offer.objects.get(pk=offers[who].pk)
            try:
                if op == "accept":
                    services.offer_accept(offer=offer, user=users[who])
                elif op == "decline":
                    services.offer_decline(offer=offer, user=users[who])
                elif op == "refund":
                    d = Deposit.objects.filter(offer=offer).first()
                    if d:
                        services.deposit_refund(deposit=d, amount=amount, reason="test")
                elif op == "fail":
                    services.installer_fail(installer=offer.installer, reason="MCS withdrawn")
                else:
                    services.survey_record(
                        offer=offer,
                        outcome=op,
                        new_price_gbp=amount + 1000,
                        reason="survey",
                        actor=offer.installer.user,
                    )
            except DomainError:
                pass
            held = sum((d.held_gbp for d in Deposit.objects.all()), Decimal(0))
            code = f"purchasing:{c.pk}:escrow"
            assert -account_balances(c.community, code).get(code, Decimal(0)) == held
            assert all(0 <= d.refunded_gbp <= d.amount_gbp for d in Deposit.objects.all())
        assert ledger_verify(c.community).ok
    finally:
        transaction.savepoint_rollback(sid)
