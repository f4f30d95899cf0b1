from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from assets.coop import services
from assets.coop.models import Application, CoopAsset, Distribution, Member, Payment, ShareOffer, Vote

from .factories import funded_society

pytestmark = pytest.mark.django_db


def _open_offer(society, code="BAT"):
    today = timezone.localdate()
    return services.offer_create(
        society=society,
        title="Battery offer",
        code=code,
        opens_on=today - timedelta(days=1),
        closes_on=today + timedelta(days=30),
        min_raise=Decimal(200),
        target_raise=Decimal(1000),
        max_raise=Decimal(1000),
        min_application=Decimal(100),
        max_application=Decimal(1000),
    )


def _url(name, society, **kw):
    return reverse(f"coop:{name}", kwargs={"slug": society.community.slug, "society_id": society.pk, **kw})


@pytest.fixture
def society(world):
    s = funded_society(world, {"Ann": 1000, "Bob": 500}, allot_on=date(2024, 6, 1))
    asset = CoopAsset.objects.create(
        society=s, name="School array", capacity_kw=Decimal(30), commissioned_on=date(2024, 1, 1), capex=Decimal(1200)
    )
    services.account_entry_add(
        asset=asset, month=date(2025, 3, 1), kind="flex", amount=Decimal(400), description="flex"
    )
    return s


def test_an_application_below_the_minimum_shows_the_limit_and_writes_nothing(world, client_as, society):
    offer = _open_offer(society)
    r = client_as("member").post(
        _url("offer_apply", society, offer_id=offer.pk),
        {"amount": "50", "full_name": "M", "email": "m@example.org", "address": "x", "postcode": "TE1"},
    )
    assert r.status_code == 400
    assert "minimum application is £100" in r.content.decode()
    assert Application.objects.filter(offer=offer).count() == 0


def test_a_member_applies_and_is_told_the_payment_reference(world, client_as, society):
    offer = _open_offer(society)
    c = client_as("member")
    r = c.post(
        _url("offer_apply", society, offer_id=offer.pk),
        {
            "amount": "200",
            "full_name": "Member Tester",
            "email": "m@example.org",
            "address": "1 Test Street",
            "postcode": "TE1 1ST",
        },
        follow=True,
    )
    assert r.status_code == 200
    assert "reference BAT-0001" in r.content.decode()


def test_statement_import_previews_then_imports_only_on_confirm(world, client_as, society):
    offer = _open_offer(society)
    app = services.application_submit(
        offer=offer,
        amount=Decimal(300),
        today=timezone.localdate(),
        full_name="C",
        email="c@example.org",
        address="x",
        postcode="TE1",
    )
    text = f"Date,Reference,Amount\n{timezone.localdate():%Y-%m-%d},{app.reference} C,300.00\n2025-01-01,who?,5\n"
    c = client_as("treasurer")
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = c.post(
        _url("statement_import", society, offer_id=offer.pk), {"statement": SimpleUploadedFile("s.csv", text.encode())}
    )
    body = r.content.decode()
    assert r.status_code == 200 and "1 payments match" in body and "Line 3" in body
    assert Payment.objects.filter(application=app).count() == 0
    assert text not in body  # the statement stays on the server: the confirm form posts back a token
    r = c.post(_url("statement_import", society, offer_id=offer.pk), {"stash": r.context["stash"], "confirm": "1"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.paid == Decimal("300.00")


def test_treasurer_previews_and_closes_an_offer(world, client_as, society):
    offer = _open_offer(society)
    for name, amount in (("C", 600), ("D", 700)):
        app = services.application_submit(
            offer=offer,
            amount=Decimal(amount),
            today=timezone.localdate(),
            full_name=name,
            email=f"{name}@example.org",
            address="x",
            postcode="T",
        )
        services.payment_record(application=app, amount=Decimal(amount), received_on=timezone.localdate())
    c = client_as("treasurer")
    r = c.get(_url("offer_close", society, offer_id=offer.pk))
    assert "Oversubscribed" in r.content.decode()
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.OPEN  # the preview wrote nothing
    # 30 days before the advertised closing date: closed early, deliberately
    r = c.post(_url("offer_close", society, offer_id=offer.pk), {"close_early": "on"}, follow=True)
    assert "scaled back" in r.content.decode()
    offer.refresh_from_db()
    assert offer.status == ShareOffer.Status.ALLOTTED


def test_a_distribution_larger_than_the_surplus_is_refused_inline(world, client_as, society):
    c = client_as("treasurer")
    r = c.post(
        _url("distribution_new", society),
        {"year": "2025", "interest_rate": "4", "fund_contribution": "390", "dividend_total": "0"},
    )
    assert r.status_code == 400
    assert "larger than the surplus" in r.content.decode()
    assert Distribution.objects.count() == 0


def test_treasurer_previews_then_commits_a_distribution(world, client_as, society):
    c = client_as("treasurer")
    r = c.get(_url("distribution_new", society), {"year": "2025", "interest_rate": "4", "fund_contribution": "50"})
    body = r.content.decode()
    assert r.status_code == 200 and "Preview: £60.00 interest to 2 members" in body
    assert Distribution.objects.count() == 0
    r = c.post(
        _url("distribution_new", society),
        {"year": "2025", "interest_rate": "4", "fund_contribution": "50", "dividend_total": "0"},
    )
    dist = Distribution.objects.get()
    assert r.status_code == 302 and dist.interest_total == Decimal("60.00")
    csv_text = c.get(_url("distribution_payments", society, distribution_id=dist.pk)).content.decode()
    assert "Ann,12-34-56,12345678,40.00" in csv_text


def test_members_see_their_own_statement_and_nobody_elses(world, client_as, society, monkeypatch):
    ann = Member.objects.get(full_name="Ann")
    Member.objects.filter(pk=ann.pk).update(user=world.users["member"])
    dist = services.distribution_commit(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=Decimal("0.04"),
        today=date(2026, 1, 5),
    )
    bob = Member.objects.get(full_name="Bob")
    c = client_as("member")
    r = c.get(_url("statement", society, distribution_id=dist.pk, member_id=ann.pk))
    assert r.status_code == 200 and "£40.00" in r.content.decode()
    assert c.get(_url("statement", society, distribution_id=dist.pk, member_id=bob.pk)).status_code == 403
    r = c.get(_url("my_shares", society))
    assert "£1,000.00" in r.content.decode()


def test_a_second_online_vote_is_refused(world, client_as, society):
    ann = Member.objects.get(full_name="Ann")
    Member.objects.filter(pk=ann.pk).update(user=world.users["member"])
    now = timezone.now()
    meeting = services.meeting_create(
        society=society,
        kind="gm",
        title="GM",
        held_at=now + timedelta(days=3),
        notice_given_on=timezone.localdate(),
        vote_opens=now - timedelta(hours=1),
        vote_closes=now + timedelta(days=3),
        resolutions=[("Battery", "ordinary")],
    )
    res = meeting.resolutions.get()
    c = client_as("member")
    url = _url("meeting", society, meeting_id=meeting.pk)
    assert c.post(url, {"resolution": res.pk, "choice": "for"}).status_code == 302
    r = c.post(url, {"resolution": res.pk, "choice": "against"})
    assert r.status_code == 400 and "one member, one vote" in r.content.decode()
    assert Vote.objects.get().choice == "for"


def test_a_grant_above_the_fund_balance_is_refused(world, client_as, society):
    fund = society.funds.get()
    r = client_as("treasurer").post(
        reverse("coop:fund", kwargs={"slug": world.community.slug, "fund_id": fund.pk}),
        {"grant": "1", "project": "Hall", "recipient": "Club", "amount": "10", "decided_on": "2026-01-01"},
    )
    assert r.status_code == 400 and "cannot grant" in r.content.decode()


def test_the_register_page_does_not_query_per_member(world, client_as, society, django_assert_max_num_queries):
    c = client_as("treasurer")
    c.get(_url("register", society))
    with django_assert_max_num_queries(12):
        r = c.get(_url("register", society))
    assert "Ann" in r.content.decode()
    text = c.get(_url("register_csv", society)).content.decode()
    assert text.splitlines()[0].startswith("member_number,name,email,address")


def test_the_api_refuses_a_distribution_above_the_rules_cap(world, client_as, society):
    r = client_as("treasurer").post(
        reverse("coop-api:distribution-preview", kwargs={"slug": world.community.slug, "society_id": society.pk}),
        {"year": 2025, "interest_rate": "0.09"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "cap interest at 5.00%" in r.json()["detail"]


def test_a_corporate_fund_is_set_up_and_its_due_contribution_shown(world, client_as):
    c = client_as("convenor")
    r = c.post(
        reverse("coop:fund_create", kwargs={"slug": world.community.slug}),
        {
            "name": "Sunfield fund",
            "company_name": "Sunfield Solar Ltd",
            "asset_name": "Sunfield farm",
            "capacity_kw": "20000",
            "pounds_per_mw_year": "1000",
            "profit_share": "0",
        },
        follow=True,
    )
    body = r.content.decode()
    assert r.status_code == 200 and "Sunfield fund" in body
    assert "£20,000.00" in body  # 20 MW × £1,000/MW for this year


def test_htmx_preview_returns_only_the_distribution_fragment(world, client_as, society):
    r = client_as("treasurer").get(
        _url("distribution_new", society),
        {"year": "2025", "interest_rate": "4", "fund_contribution": "0"},
        HTTP_HX_REQUEST="true",
    )
    body = r.content.decode()
    assert r.status_code == 200 and "Preview: £60.00 interest to 2 members" in body
    assert "<html" not in body


def test_the_meeting_form_reads_special_resolutions_from_their_prefix():
    from assets.coop.forms import MeetingForm

    form = MeetingForm(
        {
            "kind": "gm",
            "title": "General meeting",
            "held_at": "2026-12-10T19:00",
            "notice_given_on": "2026-11-20",
            "vote_opens": "2026-12-01T09:00",
            "vote_closes": "2026-12-10T18:00",
            "resolutions": "Adopt the accounts\nSpecial: Amend rule 5",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["resolutions"] == [("Adopt the accounts", "ordinary"), (" Amend rule 5", "special")]
