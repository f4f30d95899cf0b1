"""Issue 15 "Treasurer and members": where to pay, an application's real state, closing an offer
early only on purpose, distribution cards that add up to their lines; issue 14 item 17: one helper
for every co-op form view."""

from __future__ import annotations

import inspect
import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.coop import selectors, services, views
from assets.coop.models import Application, CoopAsset, Distribution, Member, ShareOffer, ShareTransaction, Society
from community.errors import DomainError

from .factories import funded_society, make_society

pytestmark = pytest.mark.django_db


def _url(name, society, **kw):
    return reverse(f"coop:{name}", kwargs={"slug": society.community.slug, "society_id": society.pk, **kw})


def _open_offer(society, *, closes_in=30, code="BAT"):
    today = timezone.localdate()
    return services.offer_create(
        society=society,
        title="Battery offer",
        code=code,
        opens_on=today - timedelta(days=1),
        closes_on=today + timedelta(days=closes_in),
        min_raise=Decimal(200),
        target_raise=Decimal(1000),
        max_raise=Decimal(1000),
        min_application=Decimal(100),
        max_application=Decimal(1000),
    )


def _apply(offer, user, amount, name="Member Tester"):
    return services.application_submit(
        offer=offer,
        amount=Decimal(amount),
        today=timezone.localdate(),
        user=user,
        full_name=name,
        email=f"{name.split()[0].lower()}@example.org",
        address="1 Test Street",
        postcode="TE1 1ST",
    )


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- where to pay ---------------------------------------------------------------------------


def test_the_treasurer_records_the_societys_bank_account_on_the_rules_page(world, client_as):
    society = make_society(world)
    c = client_as("treasurer")
    page = c.get(_url("society_rules", society))
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update(bank_account_name="Test Green Energy Ltd", bank_sort_code="60 83 01", bank_account_number="20001234")
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    r = c.post(_url("society_rules", society), data)
    assert r.status_code == 302, _text(r)[:2000]
    society.refresh_from_db()
    assert (society.bank_account_name, society.bank_sort_code, society.bank_account_number) == (
        "Test Green Energy Ltd",
        "60-83-01",
        "20001234",
    )


def test_a_bad_sort_code_is_refused_with_a_clear_message_and_nothing_changes(world):
    society = make_society(world)
    with pytest.raises(DomainError, match="sort code is six digits"):
        services.society_update_rules(
            society=society, bank_account_name="Test", bank_sort_code="12-34", bank_account_number="12345678"
        )
    with pytest.raises(DomainError, match="name on the society's bank account"):
        services.society_update_rules(society=society, bank_sort_code="12-34-56", bank_account_number="12345678")
    society.refresh_from_db()
    assert not society.has_bank_details


def test_an_applicant_is_told_the_bank_account_with_the_reference(world, client_as):
    society = make_society(
        world, bank_account_name="Test Green Energy Ltd", bank_sort_code="608301", bank_account_number="20001234"
    )
    offer = _open_offer(society)
    c = client_as("member")
    page = _text(c.get(_url("offer_apply", society, offer_id=offer.pk)))
    assert "sort code <strong>60-83-01</strong>" in page and "account <strong>20001234</strong>" in page
    r = c.post(
        _url("offer_apply", society, offer_id=offer.pk),
        {"amount": "200", "full_name": "M T", "email": "m@example.org", "address": "1 St", "postcode": "TE1 1ST"},
        follow=True,
    )
    text = _text(r)
    assert (
        "Pay £200.00 to Test Green Energy Ltd, sort code 60-83-01, account 20001234, with the reference BAT-0001"
        in (text)
    )
    # and it stays on the offer page until paid
    assert "sort code 60-83-01" in _text(c.get(_url("offer", society, offer_id=offer.pk)))


def test_without_bank_details_the_treasurer_is_told_members_cannot_see_where_to_pay(world, client_as):
    society = make_society(world)
    offer = _open_offer(society)
    t = client_as("treasurer")
    assert 'id="no-bank-details"' in t.get(_url("society", society)).content.decode()
    assert 'id="no-bank-details"' in t.get(_url("offer", society, offer_id=offer.pk)).content.decode()
    app = _apply(offer, world.users["member"], 200)
    assert "the treasurer will send them to member@example.org" in selectors.how_to_pay(app)


# --- an application's real state --------------------------------------------------------------


def test_a_fully_paid_application_says_so_not_awaiting_payment(world, client_as):
    society = make_society(world)
    offer = _open_offer(society)
    paid = _apply(offer, world.users["member"], 300)
    services.payment_record(application=paid, amount=Decimal(300), received_on=timezone.localdate())
    part = _apply(offer, None, 400, name="Nell Neighbour")
    services.payment_record(application=part, amount=Decimal(150), received_on=timezone.localdate())
    _apply(offer, None, 100, name="Una Unpaid")
    treasurer_page = _text(client_as("treasurer").get(_url("offer", society, offer_id=offer.pk)))
    assert "Paid in full: shares allotted when the offer closes" in treasurer_page
    assert "Part paid: £250.00 still to pay" in treasurer_page
    assert treasurer_page.count("Awaiting payment") == 1  # only the unpaid one
    member_page = _text(client_as("member").get(_url("offer", society, offer_id=offer.pk)))
    assert "Paid in full" in member_page and "Awaiting payment" not in member_page


# --- closing an offer before its closing date --------------------------------------------------


def test_closing_before_the_closing_date_warns_and_needs_a_deliberate_tick(world, client_as):
    society = make_society(world)
    offer = _open_offer(society, closes_in=30)
    app = _apply(offer, world.users["member"], 300)
    services.payment_record(application=app, amount=Decimal(300), received_on=timezone.localdate())
    c = client_as("treasurer")
    page = _text(c.get(_url("offer_close", society, offer_id=offer.pk)))
    assert 'id="early-warning"' in page and "30 days from now" in page
    r = c.post(_url("offer_close", society, offer_id=offer.pk), {})
    assert r.status_code == 400
    assert "confirm that you mean to close it early" in _text(r)
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.OPEN
    assert not ShareTransaction.objects.filter(offer=offer).exists()
    r = c.post(_url("offer_close", society, offer_id=offer.pk), {"close_early": "on"})
    assert r.status_code == 302
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.ALLOTTED
    assert Application.objects.get(pk=app.pk).status == Application.Status.ALLOTTED


def test_on_or_after_the_closing_date_the_offer_closes_without_the_warning(world, client_as):
    society = make_society(world)
    offer = _open_offer(society, closes_in=0)
    app = _apply(offer, world.users["member"], 300)
    services.payment_record(application=app, amount=Decimal(300), received_on=timezone.localdate())
    c = client_as("treasurer")
    assert 'id="early-warning"' not in c.get(_url("offer_close", society, offer_id=offer.pk)).content.decode()
    assert c.post(_url("offer_close", society, offer_id=offer.pk), {}).status_code == 302
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.ALLOTTED


# --- distribution cards and lines from the same figures ---------------------------------------


def _surplus(society, pounds=20000):
    asset = CoopAsset.objects.create(
        society=society, name="Array", capacity_kw=Decimal(30), commissioned_on=date(2024, 1, 1), capex=Decimal(100)
    )
    services.account_entry_add(
        asset=asset, month=date(2025, 6, 1), kind="flex", amount=Decimal(pounds), description="flex"
    )


def _cards(html: str) -> dict[str, Decimal]:
    out = {}
    for key in ("interest-total", "cash-total", "reinvested-total", "fund-total"):
        m = re.search(rf'id="{key}">£([\d,]+\.\d\d)<', html)
        out[key] = Decimal(m.group(1).replace(",", ""))
    return out


def test_the_fund_card_adds_the_pennies_of_donated_interest(world, client_as):
    """The reported case: £8.23 donated + £50 from the society showed as £58.00."""
    society = funded_society(world, {"Ann": 1000, "Bob": 500, "Cat": 274}, allot_on=date(2025, 1, 1))
    Member.objects.filter(society=society, full_name="Cat").update(distribution_choice="donate")
    _surplus(society)
    dist = services.distribution_commit(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=Decimal("0.03"),
        fund_contribution=Decimal(50),
        today=date(2026, 1, 10),
    )
    donated = dist.lines.get(member__full_name="Cat").donated
    assert donated % 1  # pennies: £274 for (most of) a year at 3%
    html = client_as("treasurer").get(_url("distribution", society, distribution_id=dist.pk)).content.decode()
    assert _cards(html)["fund-total"] == donated + Decimal(50)


_names = itertools.count()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    register=st.lists(
        st.tuples(st.integers(100, 3000), st.sampled_from(["pay", "reinvest", "donate"])), min_size=1, max_size=7
    ),
    rate_bp=st.integers(1, 500),
    fund=st.integers(0, 9999),
)
def test_the_cards_equal_the_sums_of_the_lines_on_random_registers(world, client_as, register, rate_bp, fund):
    n = next(_names)
    holdings = {f"Member {n}-{i}": amount for i, (amount, _) in enumerate(register)}
    society = funded_society(world, holdings, name=f"Random Register {n}", allot_on=date(2025, 1, 1))
    for i, (_, choice) in enumerate(register):
        Member.objects.filter(society=society, full_name=f"Member {n}-{i}").update(distribution_choice=choice)
    _surplus(society)
    dist = services.distribution_commit(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=Decimal(rate_bp) / 10000,
        fund_contribution=Decimal(fund) / 100,
        today=date(2026, 1, 10),
    )
    lines = list(dist.lines.all())
    figures = selectors.distribution_figures(dist)
    html = client_as("treasurer").get(_url("distribution", society, distribution_id=dist.pk)).content.decode()
    cards = _cards(html)
    assert cards["interest-total"] == sum(ln.interest + ln.dividend for ln in lines) == figures.declared
    assert cards["cash-total"] == sum(ln.cash for ln in lines)
    assert cards["reinvested-total"] == sum(ln.reinvested for ln in lines)
    assert cards["fund-total"] == sum(ln.donated for ln in lines) + dist.fund_contribution
    # and every penny declared goes somewhere the cards show
    assert cards["cash-total"] + cards["reinvested-total"] + cards["fund-total"] == (
        cards["interest-total"] + dist.fund_contribution
    )
    assert figures.declared == dist.interest_total + dist.dividend_total


# --- one helper for the form views --------------------------------------------------------------


def test_every_co_op_form_view_flashes_success_through_the_one_helper():
    source = inspect.getsource(views)
    assert source.count("messages.success(") == 1  # inside _submit
    posting = [
        name
        for name, fn in inspect.getmembers(views, inspect.isfunction)
        if fn.__module__ == views.__name__ and "POST" in inspect.getsource(fn) and not name.startswith("_")
    ]
    assert posting and all("_submit(" in inspect.getsource(getattr(views, name)) for name in posting), posting


def test_a_refused_button_post_is_flashed_and_redirects(world, client_as):
    society = funded_society(world, {"Ann": 1000}, allot_on=date(2025, 1, 1))
    _surplus(society)
    dist = services.distribution_commit(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=Decimal("0.02"),
        today=date(2026, 1, 10),
    )
    c = client_as("treasurer")
    url = _url("distribution_paid", society, distribution_id=dist.pk)
    assert c.post(url).status_code == 302
    r = c.post(url, follow=True)
    assert "already recorded as paid" in _text(r)
    assert Distribution.objects.get(pk=dist.pk).status == Distribution.Status.PAID


def test_society_model_keeps_bank_details_optional():
    assert Society._meta.get_field("bank_sort_code").blank


def test_the_api_tells_an_applicant_where_to_pay_and_where_the_application_stands(world, client_as):
    society = make_society(
        world, bank_account_name="Test Green Energy Ltd", bank_sort_code="60-83-01", bank_account_number="20001234"
    )
    offer = _open_offer(society)
    r = client_as("member").post(
        reverse(
            "coop-api:application-create",
            kwargs={"slug": world.community.slug, "society_id": society.pk, "offer_id": offer.pk},
        ),
        {"amount": "100", "full_name": "A Person", "email": "a@example.org", "address": "1 Road", "postcode": "TE1"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "Awaiting payment"
    assert "sort code 60-83-01, account 20001234, with the reference BAT-0001" in body["how_to_pay"]


def test_the_rules_page_shows_a_ten_percent_quorum_as_10_not_in_scientific_notation(world, client_as):
    society = make_society(world, quorum_fraction=Decimal("0.100"), target_interest_rate=Decimal("0.0325"))
    form = client_as("treasurer").get(_url("society_rules", society)).context["form"]
    assert form.initial["quorum_fraction"] == "10"
    assert form.initial["target_interest_rate"] == "3.25"
