"""Who may use each group-buying page and endpoint (walked by tests/test_permission_matrix.py)."""

from __future__ import annotations

from tests.purchasing import helpers as H
from tests.routes import ANY_ROLE, Route, roles

CONVENOR = roles("convenor")
MEMBER = roles("member")
SUPPLIER = roles("supplier")


def _buy(w) -> dict:
    """An awarded campaign (the member's offer open, the neighbour's accepted and surveyed), an open
    campaign, an installer still to be qualified, a complaint."""
    if "buy" in w.extra:
        return w.extra["buy"]
    from assets.purchasing import services
    from assets.purchasing.models import Offer

    c, pv, bright, solid = H.awarded(w)
    mine = Offer.objects.get(registration__user=w.users["member"], package=pv)
    theirs = Offer.objects.get(registration__user=w.neighbour, package=pv)
    services.offer_accept(offer=theirs, user=w.neighbour)
    services.survey_record(offer=theirs, outcome="confirm", actor=w.users["supplier"])
    complaint = services.complaint_raise(
        offer=mine, user=w.users["member"], subject="Late survey", detail="Nobody came."
    )
    fresh = H.installer(w, H.supplier(w, "fresh"), "Fresh Fit", qualify=False)
    open_c, open_pv, _ = H.campaign(w, name="Open Streets")
    w.extra["buy"] = d = {
        "c": c,
        "pv": pv,
        "mine": mine,
        "theirs": theirs,
        "deposit": theirs.deposit,
        "complaint": complaint,
        "solid": solid,
        "fresh": fresh,
        "open": open_c,
        "open_pv": open_pv,
    }
    return d


def k(w, **more):
    return {"slug": w.community.slug, **more}


def awarded(w, **more):
    return k(w, campaign_id=_buy(w)["c"].pk, **more)


def open_(w, **more):
    return k(w, campaign_id=_buy(w)["open"].pk, **more)


def _estimate_data(w):
    b = _buy(w)
    return {
        "packages": [b["open_pv"].pk],
        "latitude": "52.1",
        "longitude": "-1.9",
        "roof_area_m2": "20",
        "azimuth_deg": "180",
        "tilt_deg": "35",
        "shading": "none",
        "fuse_a": "60",
        "annual_use_kwh": "3000",
    }


CAMPAIGN_FORM = {
    "name": "Warm Homes",
    "registration_closes": "2030-01-01T18:00",
    "bid_deadline": "2030-01-08T12:00",
    "decision_days": "42",
    "install_weeks": "16",
    "deposit_gbp": "150",
    "convenor_fee_gbp": "100",
    "price_weight": "70",
    "quality_weight": "30",
}

ROUTES = [
    Route("purchasing:index", ANY_ROLE),
    Route("purchasing:campaign_create", CONVENOR),
    Route(
        "purchasing:campaign_create",
        CONVENOR,
        method="post",
        data=lambda w: CAMPAIGN_FORM,
        label="POST purchasing:campaign_create",
    ),
    Route("purchasing:campaign", ANY_ROLE, kwargs=awarded),
    Route("purchasing:package_create", CONVENOR, kwargs=open_),
    Route("purchasing:register", MEMBER, kwargs=open_),
    Route("purchasing:estimate", MEMBER, kwargs=open_, data=_estimate_data),
    Route("purchasing:mine", MEMBER, kwargs=awarded),
    Route("purchasing:offer_accept", MEMBER, method="post", kwargs=lambda w: awarded(w, offer_id=_buy(w)["mine"].pk)),
    Route("purchasing:offer_decline", MEMBER, method="post", kwargs=lambda w: awarded(w, offer_id=_buy(w)["mine"].pk)),
    Route(
        "purchasing:complaint_create",
        MEMBER,
        method="post",
        kwargs=lambda w: awarded(w, offer_id=_buy(w)["mine"].pk),
        data=lambda w: {"subject": "Scaffold left up", "detail": "Two weeks now."},
    ),
    Route("purchasing:bid", SUPPLIER, kwargs=lambda w: open_(w, package_id=_buy(w)["open_pv"].pk)),
    Route("purchasing:evaluation", roles("convenor", "auditor"), kwargs=awarded),
    Route("purchasing:evaluate", CONVENOR, method="post", kwargs=awarded),
    Route("purchasing:offers_issue", CONVENOR, method="post", kwargs=awarded),
    Route("purchasing:installers", roles("convenor", "supplier"), setup=_buy),
    Route("purchasing:installer_apply", SUPPLIER),
    Route(
        "purchasing:installer_review",
        CONVENOR,
        method="post",
        kwargs=lambda w: k(w, installer_id=_buy(w)["fresh"].pk),
        data=lambda w: {"decision": "qualify"},
    ),
    Route(
        "purchasing:installer_fail",
        CONVENOR,
        method="post",
        kwargs=lambda w: k(w, installer_id=_buy(w)["solid"].pk),
        data=lambda w: {"reason": "MCS withdrawn"},
    ),
    Route("purchasing:jobs", roles("convenor", "supplier"), setup=_buy),
    Route("purchasing:job", roles("convenor", "supplier"), kwargs=lambda w: k(w, offer_id=_buy(w)["mine"].pk)),
    Route(
        "purchasing:job_survey",
        SUPPLIER,
        method="post",
        kwargs=lambda w: k(w, offer_id=_buy(w)["mine"].pk),
        data=lambda w: {"outcome": "confirm"},
    ),
    Route(
        "purchasing:job_milestone",
        SUPPLIER,
        method="post",
        kwargs=lambda w: k(w, offer_id=_buy(w)["theirs"].pk),
        data=lambda w: {"name": "Scaffolding up"},
    ),
    Route(
        "purchasing:job_document",
        SUPPLIER,
        method="post",
        kwargs=lambda w: k(w, offer_id=_buy(w)["theirs"].pk),
        data=lambda w: {"kind": "photo"},
    ),
    Route("purchasing:job_commission", SUPPLIER, method="post", kwargs=lambda w: k(w, offer_id=_buy(w)["theirs"].pk)),
    Route(
        "purchasing:deposit_refund",
        roles("convenor", "treasurer"),
        method="post",
        kwargs=lambda w: k(w, deposit_id=_buy(w)["deposit"].pk),
        data=lambda w: {"amount": "10", "reason": "goodwill"},
    ),
    Route("purchasing:complaints", roles("convenor", "auditor"), setup=_buy),
    Route(
        "purchasing:complaint_update",
        CONVENOR,
        method="post",
        kwargs=lambda w: k(w, complaint_id=_buy(w)["complaint"].pk),
        data=lambda w: {"status": "disputed"},
    ),
    # API
    Route("purchasing-api:campaign-list", ANY_ROLE, setup=_buy, api=True),
    Route("purchasing-api:estimate", MEMBER, method="post", kwargs=open_, data=_estimate_data, api=True),
    Route("purchasing-api:registration-create", MEMBER, method="post", kwargs=open_, data=_estimate_data, api=True),
    Route("purchasing-api:my-offers", MEMBER, kwargs=awarded, api=True),
    Route(
        "purchasing-api:offer-accept",
        MEMBER,
        method="post",
        kwargs=lambda w: awarded(w, offer_id=_buy(w)["mine"].pk),
        api=True,
    ),
    Route(
        "purchasing-api:offer-accept",
        roles(),
        method="post",
        kwargs=lambda w: awarded(w, offer_id=_buy(w)["theirs"].pk),
        api=True,
        label="POST purchasing-api:offer-accept (a neighbour's offer)",
    ),
    Route(
        "purchasing-api:bid-submit",
        SUPPLIER,
        method="post",
        kwargs=lambda w: open_(w, package_id=_buy(w)["open_pv"].pk),
        data=lambda w: {
            "tiers[0]up_to": "4.5",
            "tiers[0]price_per_unit": "1100",
            "tiers[1]up_to": "8",
            "tiers[1]price_per_unit": "1000",
        },
        api=True,
    ),
]
