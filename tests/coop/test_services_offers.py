from datetime import date
from decimal import Decimal

import pytest

from assets.coop import selectors, services
from assets.coop.models import Application, Member, Payment, ShareOffer, ShareTransaction
from community.errors import DomainError
from community.models import JournalEntry
from community.selectors import account_balances, ledger_verify

from .factories import CLOSES, OPENS, apply_and_pay, make_offer, make_society

pytestmark = pytest.mark.django_db


def _register_matches_ledger(society):
    balances = account_balances(society.community, prefix=f"coop:{society.pk}:member:")
    holdings = selectors.holdings(society)
    for member_id, held in holdings.items():
        assert -balances.get(f"coop:{society.pk}:member:{member_id}:shares", Decimal(0)) == held
    assert ledger_verify(society.community).ok


def test_an_application_outside_the_limits_is_refused_and_nothing_is_written(world):
    offer = make_offer(make_society(world))
    with pytest.raises(DomainError, match="minimum application is £100"):
        apply_and_pay(offer, "Ann Small", 50)
    with pytest.raises(DomainError, match="maximum application is £5,000"):
        apply_and_pay(offer, "Ann Big", 6000)
    assert Application.objects.count() == 0


def test_a_new_member_must_give_register_details(world):
    offer = make_offer(make_society(world))
    with pytest.raises(DomainError, match="needs your full name, email, address, postcode"):
        services.application_submit(offer=offer, amount=Decimal(100), today=OPENS)


def test_applications_outside_the_offer_dates_are_refused(world):
    offer = make_offer(make_society(world))
    with pytest.raises(DomainError, match="takes applications from"):
        services.application_submit(
            offer=offer,
            amount=Decimal(100),
            today=date(2025, 4, 1),
            full_name="A",
            email="a@example.org",
            address="x",
            postcode="TE1",
        )


def test_payments_go_to_the_ledger_and_the_offer_closes_with_shares_allotted(world):
    society = make_society(world)
    offer = make_offer(society)
    a = apply_and_pay(offer, "Ann Able", 1000)
    b = apply_and_pay(offer, "Bob Baker", 500, paid=520)  # £20 overpaid
    result = services.offer_close(offer=offer, today=CLOSES, actor=world.users["treasurer"])
    assert result.succeeded and not result.scaled_back
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.ALLOTTED
    members = {m.full_name: m for m in Member.objects.filter(society=society)}
    assert set(members) == {"Ann Able", "Bob Baker"}
    assert selectors.holdings(society) == {
        members["Ann Able"].pk: Decimal("1000.00"),
        members["Bob Baker"].pk: Decimal("500.00"),
    }
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.shares_allotted, a.refund) == ("allotted", 1000, Decimal("0.00"))
    assert (b.status, b.shares_allotted, b.refund) == ("allotted", 500, Decimal("20.00"))
    balances = account_balances(world.community, prefix=f"coop:{society.pk}:")
    assert balances[f"coop:{society.pk}:applications"] == 0  # every penny held was allotted or refunded
    assert balances[f"coop:{society.pk}:bank"] == Decimal("1500.00")
    _register_matches_ledger(society)
    with pytest.raises(DomainError, match="already been closed"):
        services.offer_close(offer=offer, today=CLOSES)


def test_an_oversubscribed_offer_is_scaled_back_with_refunds(world):
    society = make_society(world)
    offer = make_offer(society, max_raise=Decimal(3000), target_raise=Decimal(3000))
    for name, amount in (("Ann", 100), ("Bob", 2000), ("Cat", 4000)):
        apply_and_pay(offer, name, amount)
    result = services.offer_close(offer=offer, today=CLOSES)
    assert result.scaled_back
    assert selectors.share_capital(society) == Decimal("3000.00")
    refunds = dict(Application.objects.values_list("full_name", "refund"))
    assert refunds["Ann"] == 0 and sum(refunds.values()) == Decimal("3100.00")
    assert "REFUND" in selectors.refund_file_csv(offer)
    _register_matches_ledger(society)


def test_an_offer_below_its_minimum_returns_everything(world):
    society = make_society(world)
    offer = make_offer(society)
    apply_and_pay(offer, "Ann", 300)
    apply_and_pay(offer, "Bob", 200)
    result = services.offer_close(offer=offer, today=CLOSES)
    assert not result.succeeded
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.FAILED
    assert Member.objects.filter(society=society).count() == 0
    assert account_balances(world.community, prefix=f"coop:{society.pk}:bank")[f"coop:{society.pk}:bank"] == 0
    assert set(Application.objects.values_list("status", flat=True)) == {"refunded"}


STATEMENT = """Date,Description,Amount,Transaction ID
2025-01-05,FP ANN ABLE SOL-0001,250.00,T1
06/01/2025,faster payment sol 0002,100.00,T2
2025-01-07,UNKNOWN PAYER,75.00,T3
2025-01-08,SOL-0001,abc,T4
"""


def test_a_bank_statement_is_matched_to_applications_and_bad_lines_reported(world):
    offer = make_offer(make_society(world))
    a = apply_and_pay(offer, "Ann Able", 250, paid=0)
    b = apply_and_pay(offer, "Bob Baker", 100, paid=0)
    result = services.statement_import(offer=offer, text=STATEMENT, actor=world.users["treasurer"])
    assert [(r.line, app.reference) for r, app in result.matched] == [(2, a.reference), (3, b.reference)]
    assert [e.line for e in result.errors] == [4, 5]
    a.refresh_from_db()
    assert a.paid == Decimal("250.00")
    # the same statement again adds nothing
    again = services.statement_match(offer=offer, text=STATEMENT)
    assert again.matched == [] and len(again.duplicates) == 2
    with pytest.raises(DomainError, match="nothing was imported"):
        services.statement_import(offer=offer, text=STATEMENT)
    assert Payment.objects.count() == 2
    assert JournalEntry.objects.filter(source="coop").count() == 2


def test_a_statement_matching_nothing_writes_nothing(world):
    offer = make_offer(make_society(world))
    with pytest.raises(DomainError, match="matches an application"):
        services.statement_import(offer=offer, text="Date,Reference,Amount\n2025-01-02,nobody,10\n")
    assert Payment.objects.count() == 0 and ShareTransaction.objects.count() == 0


def test_unpaid_applications_lapse_and_a_former_member_rejoins_with_their_number(world):
    from assets.coop.models import Member

    society = make_society(world)
    first = make_offer(society, code="ONE")
    apply_and_pay(first, "Ann", 1000, user=world.users["member"])
    services.offer_close(offer=first, today=CLOSES)
    ann = Member.objects.get(society=society)
    services.member_close(member=ann, reason="closure", day=date(2028, 5, 1))
    services.withdrawals_pay(society=society, today=date(2028, 8, 1), budget=Decimal(1000))
    ann.refresh_from_db()
    assert ann.status == Member.Status.CEASED
    second = make_offer(society, code="TWO", min_raise=Decimal(100))
    apply_and_pay(second, "Ann", 300, user=world.users["member"])
    unpaid = apply_and_pay(second, "Bob", 200, paid=0)
    services.offer_close(offer=second, today=CLOSES)
    ann.refresh_from_db()
    unpaid.refresh_from_db()
    assert (ann.status, ann.number, services.holding_of(ann)) == (Member.Status.ACTIVE, 1, Decimal("300.00"))
    assert unpaid.status == Application.Status.LAPSED
