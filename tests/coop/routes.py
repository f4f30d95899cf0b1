"""Who may use each co-op page and endpoint (walked by tests/test_permission_matrix.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.routes import ANY_ROLE, Route, roles

TREASURER = roles("treasurer")
REGISTER_READERS = roles("treasurer", "auditor")


def _coop(w) -> dict:
    """A society whose member is the "member" user, an open offer, a 2025 distribution, a meeting, a fund."""
    if "coop" in w.extra:
        return w.extra["coop"]
    from django.utils import timezone

    from assets.coop import services
    from assets.coop.models import CoopAsset

    today = timezone.localdate()
    society = services.society_create(community=w.community, name="Test Solar Co-op")
    sol = services.offer_create(
        society=society,
        title="School solar",
        code="SOL",
        opens_on=date(2025, 1, 1),
        closes_on=date(2025, 3, 31),
        min_raise=Decimal(100),
        target_raise=Decimal(1000),
        max_raise=Decimal(2000),
        min_application=Decimal(100),
        max_application=Decimal(1000),
    )
    for user, name, amount in ((w.users["member"], "Member Tester", 500), (None, "Nell Neighbour", 300)):
        app = services.application_submit(
            offer=sol,
            amount=Decimal(amount),
            today=date(2025, 1, 2),
            user=user,
            full_name=name,
            email="m@example.org",
            address="1 Test Street",
            postcode="TE1 1ST",
            sort_code="12-34-56",
            account_number="12345678",
        )
        services.payment_record(application=app, amount=Decimal(amount), received_on=date(2025, 1, 3))
    services.offer_close(offer=sol, today=date(2025, 3, 31))
    asset = CoopAsset.objects.create(
        society=society,
        name="School array",
        capacity_kw=Decimal(30),
        commissioned_on=date(2024, 1, 1),
        capex=Decimal(1000),
    )
    for year in (2025, 2026):
        services.account_entry_add(
            asset=asset, month=date(year, 1, 1), kind="flex", amount=Decimal(500), description="flex"
        )
    dist = services.distribution_commit(
        society=society,
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
        interest_rate=Decimal("0.02"),
        today=date(2026, 1, 5),
    )
    bat = services.offer_create(
        society=society,
        title="Battery",
        code="BAT",
        opens_on=today - timedelta(days=1),
        closes_on=today + timedelta(days=30),
        min_raise=Decimal(100),
        target_raise=Decimal(1000),
        max_raise=Decimal(2000),
        min_application=Decimal(100),
        max_application=Decimal(1000),
    )
    pending = services.application_submit(
        offer=bat,
        amount=Decimal(100),
        today=today,
        full_name="New Person",
        email="new@example.org",
        address="2 Test Street",
        postcode="TE1 1ST",
    )
    member = society.members.get(user=w.users["member"])
    now = timezone.now()
    meeting = services.meeting_create(
        society=society,
        kind="agm",
        title="AGM",
        held_at=now + timedelta(days=7),
        notice_given_on=today,
        vote_opens=now - timedelta(days=1),
        vote_closes=now + timedelta(days=7),
        resolutions=[("Accounts", "ordinary")],
    )
    fund = services.corporate_fund_create(
        community=w.community,
        name="Wind fund",
        company_name="Wind Ltd",
        asset_name="Wind farm",
        capacity_kw=Decimal(1000),
        pounds_per_mw_year=Decimal(5000),
    )
    w.extra["coop"] = c = {
        "society": society,
        "sol": sol,
        "bat": bat,
        "pending": pending,
        "member": member,
        "dist": dist,
        "asset": asset,
        "meeting": meeting,
        "fund": fund,
    }
    return c


def s(w, **more):
    c = _coop(w)
    return {"slug": w.community.slug, "society_id": c["society"].pk, **more}


def o(w, key="bat", **more):
    return s(w, offer_id=_coop(w)[key].pk, **more)


SOCIETY_FORM = {
    "name": "Another Co-op",
    "kind": "cbs",
    "share_price": "1",
    "min_holding": "100",
    "max_holding": "20000",
    "target_interest_rate": "3",
    "max_interest_rate": "5",
    "withdrawable": "on",
    "min_holding_period_years": "3",
    "interest_day_count": "actact",
    "notice_period_days": "90",
    "board_may_suspend_withdrawals": "on",
    "quorum_min": "10",
    "quorum_fraction": "10",
}

ROUTES = [
    Route("coop:index", ANY_ROLE),
    Route("coop:society_create", TREASURER),
    Route(
        "coop:society_create", TREASURER, method="post", data=lambda w: SOCIETY_FORM, label="POST coop:society_create"
    ),
    Route("coop:society", ANY_ROLE, kwargs=s),
    Route("coop:society_rules", TREASURER, kwargs=s),
    Route("coop:board_add", TREASURER, kwargs=s),
    Route("coop:offer_create", TREASURER, kwargs=s),
    Route("coop:offer", ANY_ROLE, kwargs=o),
    Route("coop:offer", ANY_ROLE, kwargs=lambda w: o(w, "sol"), label="GET coop:offer (closed)"),
    Route("coop:offer_apply", ANY_ROLE, kwargs=o),
    Route(
        "coop:offer_apply",
        ANY_ROLE,
        kwargs=o,
        method="post",
        data=lambda w: {
            "amount": "100",
            "full_name": "A Person",
            "email": "a@example.org",
            "address": "1 Road",
            "postcode": "TE1 1ST",
        },
        label="POST coop:offer_apply",
    ),
    Route("coop:payment_record", TREASURER, kwargs=lambda w: o(w, application_id=_coop(w)["pending"].pk)),
    Route(
        "coop:payment_record",
        TREASURER,
        kwargs=lambda w: o(w, application_id=_coop(w)["pending"].pk),
        method="post",
        data=lambda w: {"amount": "100", "received_on": "2026-01-02"},
        label="POST coop:payment_record",
    ),
    Route("coop:statement_import", TREASURER, kwargs=o),
    Route("coop:offer_close", TREASURER, kwargs=o),
    Route(
        "coop:offer_close",
        TREASURER,
        kwargs=o,
        method="post",
        label="POST coop:offer_close",
        data=lambda w: {"close_early": "on"},  # the open offer closes in 30 days: closing early is ticked
    ),
    Route("coop:refund_file", TREASURER, kwargs=lambda w: o(w, "sol")),
    Route("coop:register", REGISTER_READERS, kwargs=s),
    Route("coop:register_csv", REGISTER_READERS, kwargs=s),
    Route("coop:annual_return", REGISTER_READERS, kwargs=s, query="?year=2025"),
    Route("coop:member", TREASURER, kwargs=lambda w: s(w, member_id=_coop(w)["member"].pk)),
    Route("coop:member_transfer", TREASURER, kwargs=lambda w: s(w, member_id=_coop(w)["member"].pk)),
    Route("coop:member_close", TREASURER, kwargs=lambda w: s(w, member_id=_coop(w)["member"].pk)),
    Route("coop:member_withdraw", TREASURER, kwargs=lambda w: s(w, member_id=_coop(w)["member"].pk)),
    Route("coop:withdrawals", TREASURER, kwargs=s),
    Route("coop:my_shares", ANY_ROLE, kwargs=s),
    Route("coop:my_withdrawal", roles("member"), kwargs=s),
    Route("coop:accounts", TREASURER, kwargs=lambda w: s(w, asset_id=_coop(w)["asset"].pk), query="?year=2025"),
    Route("coop:distribution_new", TREASURER, kwargs=s),
    Route(
        "coop:distribution_new",
        TREASURER,
        kwargs=s,
        query="?year=2026&interest_rate=1&fund_contribution=0",
        label="GET coop:distribution_new (preview)",
    ),
    Route("coop:distribution", TREASURER, kwargs=lambda w: s(w, distribution_id=_coop(w)["dist"].pk)),
    Route("coop:distribution_payments", TREASURER, kwargs=lambda w: s(w, distribution_id=_coop(w)["dist"].pk)),
    Route(
        "coop:distribution_paid", TREASURER, kwargs=lambda w: s(w, distribution_id=_coop(w)["dist"].pk), method="post"
    ),
    Route(
        "coop:statement",
        roles("treasurer", "member"),
        kwargs=lambda w: s(w, distribution_id=_coop(w)["dist"].pk, member_id=_coop(w)["member"].pk),
    ),
    Route("coop:meetings", ANY_ROLE, kwargs=s),
    Route("coop:meeting_create", TREASURER, kwargs=s),
    Route("coop:meeting", ANY_ROLE, kwargs=lambda w: s(w, meeting_id=_coop(w)["meeting"].pk)),
    Route("coop:fund_create", roles("treasurer", "convenor")),
    Route(
        "coop:fund_create",
        roles("treasurer", "convenor"),
        method="post",
        label="POST coop:fund_create",
        data=lambda w: {
            "name": "Solar farm fund",
            "company_name": "Sun Ltd",
            "capacity_kw": "5000",
            "pounds_per_mw_year": "1000",
            "profit_share": "0",
        },
    ),
    Route("coop:fund", ANY_ROLE, kwargs=lambda w: {"slug": w.community.slug, "fund_id": _coop(w)["fund"].pk}),
    # API
    Route("coop-api:society-list", ANY_ROLE, api=True, kwargs=lambda w: (_coop(w), {"slug": w.community.slug})[1]),
    Route("coop-api:offer-list", ANY_ROLE, api=True, kwargs=s),
    Route(
        "coop-api:application-create",
        ANY_ROLE,
        api=True,
        kwargs=o,
        method="post",
        data=lambda w: {
            "amount": "100",
            "full_name": "A Person",
            "email": "a@example.org",
            "address": "1 Road",
            "postcode": "TE1 1ST",
        },
    ),
    Route("coop-api:register", REGISTER_READERS, api=True, kwargs=s),
    Route("coop-api:annual-return", REGISTER_READERS, api=True, kwargs=s, query="?year=2025"),
    Route(
        "coop-api:distribution-preview",
        TREASURER,
        api=True,
        kwargs=s,
        method="post",
        data=lambda w: {"year": 2026, "interest_rate": "0.01"},
    ),
    Route(
        "coop-api:distribution-commit",
        TREASURER,
        api=True,
        kwargs=s,
        method="post",
        data=lambda w: {"year": 2026, "interest_rate": "0.01"},
    ),
    Route("coop-api:fund-list", ANY_ROLE, api=True, kwargs=lambda w: (_coop(w), {"slug": w.community.slug})[1]),
]
