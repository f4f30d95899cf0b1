from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from assets.coop import selectors, services
from assets.coop.models import Member, ShareTransaction, WithdrawalRequest
from community.errors import DomainError
from community.selectors import ledger_verify

from .factories import funded_society

pytestmark = pytest.mark.django_db


def _m(society, name):
    return Member.objects.get(society=society, full_name=name)


def test_withdrawals_are_queued_and_paid_in_notice_order_within_the_budget(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500, "Cat": 300}, allot_on=date(2020, 1, 1))
    services.withdrawal_request(member=_m(society, "Bob"), amount=Decimal(500), notice_date=date(2025, 1, 10))
    services.withdrawal_request(member=_m(society, "Ann"), amount=Decimal(400), notice_date=date(2025, 1, 5))
    services.withdrawal_request(member=_m(society, "Cat"), amount=Decimal(300), notice_date=date(2025, 2, 1))
    preview = services.withdrawal_queue_preview(society=society, today=date(2025, 6, 1), budget=Decimal(600))
    assert [d.pennies for d in preview.pay] == [40_000]  # Ann first; Bob's £500 does not fit the £200 left
    result = services.withdrawals_pay(society=society, today=date(2025, 6, 1), budget=Decimal(600))
    assert result.paid_total == 40_000
    assert selectors.holdings(society)[_m(society, "Ann").pk] == Decimal("600.00")
    assert WithdrawalRequest.objects.filter(status="queued").count() == 2
    # next quarter the board approves more: Bob and Cat are paid and leave the society
    services.withdrawals_pay(society=society, today=date(2025, 9, 1), budget=Decimal(1000))
    assert _m(society, "Bob").status == Member.Status.CEASED
    assert ledger_verify(world.community).ok


def test_a_withdrawal_leaving_less_than_the_minimum_is_refused(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500})
    with pytest.raises(DomainError, match="below the minimum"):
        services.withdrawal_request(member=_m(society, "Bob"), amount=Decimal(450), notice_date=date(2025, 5, 1))
    assert WithdrawalRequest.objects.count() == 0


def test_suspended_withdrawals_pay_nothing(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500}, allot_on=date(2020, 1, 1))
    services.withdrawal_request(member=_m(society, "Ann"), amount=Decimal(1000), notice_date=date(2025, 1, 1))
    services.society_update_rules(society=society, withdrawals_suspended=True)
    result = services.withdrawals_pay(society=society, today=date(2026, 1, 1), budget=Decimal(5000))
    assert result.pay == [] and "suspended" in result.message
    assert ShareTransaction.objects.filter(kind="withdraw").count() == 0


def test_a_deceased_members_shares_are_repaid_to_the_estate_without_notice(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500})
    services.member_close(member=_m(society, "Ann"), reason="death", day=date(2025, 6, 1))
    assert _m(society, "Ann").status == Member.Status.DECEASED
    result = services.withdrawals_pay(society=society, today=date(2025, 6, 2), budget=Decimal(1000))
    assert result.paid_total == 100_000
    assert ShareTransaction.objects.get(kind="cancel").amount == Decimal("-1000.00")


def test_transfers_only_where_the_rules_allow(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500})
    with pytest.raises(DomainError, match="not transferable"):
        services.transfer_record(
            from_member=_m(society, "Ann"), to_member=_m(society, "Bob"), amount=Decimal(100), day=date(2025, 5, 1)
        )
    other = funded_society(world, {"Cy": 1000, "Di": 500}, name="Transferable Co", transferable=True)
    services.transfer_record(
        from_member=_m(other, "Cy"), to_member=_m(other, "Di"), amount=Decimal(200), day=date(2025, 5, 1)
    )
    h = selectors.holdings(other)
    assert (h[_m(other, "Cy").pk], h[_m(other, "Di").pk]) == (Decimal("800.00"), Decimal("700.00"))
    assert ledger_verify(world.community).ok


def test_register_csv_and_annual_return(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500}, allot_on=date(2025, 3, 31))
    text = selectors.register_csv(society)
    assert text.splitlines()[0].startswith("member_number,name")
    assert ",Ann," in text and "1000.00" in text
    ar = services.annual_return(society=society, year_start=date(2025, 1, 1), year_end=date(2025, 12, 31))
    assert (ar.members_at_end, ar.share_capital_at_end, ar.shares_issued) == (2, 150_000, 150_000)


def test_rules_changes_are_validated(world):
    society = funded_society(world, {"Ann": 1000})
    with pytest.raises(DomainError, match="s.24"):
        services.society_update_rules(society=society, max_holding=Decimal(150000))
    society.refresh_from_db()
    assert society.max_holding == Decimal("100000.00")


def test_votes_one_member_one_vote_within_the_window(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500, "Cat": 300}, quorum_min=2)
    opens = datetime(2025, 6, 1, tzinfo=UTC)
    closes = datetime(2025, 6, 8, tzinfo=UTC)
    meeting = services.meeting_create(
        society=society,
        kind="agm",
        title="AGM 2025",
        held_at=closes,
        notice_given_on=date(2025, 5, 10),
        vote_opens=opens,
        vote_closes=closes,
        resolutions=[("Approve the accounts", "ordinary"), ("Change rule 12", "special")],
    )
    r1, r2 = meeting.resolutions.all()
    services.vote_cast(resolution=r1, member=_m(society, "Ann"), choice="for", now=opens)
    with pytest.raises(DomainError, match="one member, one vote"):
        services.vote_cast(resolution=r1, member=_m(society, "Ann"), choice="against", now=opens)
    with pytest.raises(DomainError, match="outside that window"):
        services.vote_cast(resolution=r1, member=_m(society, "Bob"), choice="for", now=closes)
    # Bob came to the meeting: the secretary enters his vote
    services.vote_cast(resolution=r1, member=_m(society, "Bob"), choice="against", now=closes, channel="in_person")
    services.vote_cast(resolution=r1, member=_m(society, "Cat"), choice="for", now=closes, channel="proxy")
    results = dict(selectors.resolution_results(meeting))
    assert results[r1].passed and results[r1].votes_for == 2
    assert not results[r2].quorate
