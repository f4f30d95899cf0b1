"""Who may use each VPP page and endpoint (walked by tests/test_permission_matrix.py)."""

from __future__ import annotations

from datetime import timedelta

from tests.routes import ANY_ROLE, Route, roles

OPERATOR_READERS = roles("asset_operator", "market_operator", "convenor", "auditor")
EVENT_READERS = OPERATOR_READERS | roles("flex_buyer")
BUYER = roles("flex_buyer")


def _start():
    from django.utils import timezone

    now = timezone.now()
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)


def _vpp(w) -> dict:
    """The member's battery enrolled; a requirement from the flex buyer, bid, accepted."""
    if "vpp" in w.extra:
        return w.extra["vpp"]
    from django.utils import timezone

    from tests.vpp.factories import accepted_event, enrol_battery

    now = timezone.now()
    e = enrol_battery(w, at=now)
    ev = accepted_event(w, start=_start(), now=now, volume="1.0")
    w.extra["vpp"] = {"enrolment": e, "event": ev}
    return w.extra["vpp"]


def _event_kwargs(w) -> dict:
    return {"slug": w.community.slug, "event_id": _vpp(w)["event"].pk}


def _requirement_data(w) -> dict:
    s = _start() + timedelta(days=1)
    return {
        "reference": "API-1",
        "buyer_name": "DSO",
        "node": w.feeder.pk,
        "starts_at": s.isoformat(),
        "ends_at": (s + timedelta(hours=1)).isoformat(),
        "kw_wanted": "5.0",
        "utilisation_gbp_per_mwh": "306",
    }


def _page_requirement(w) -> dict:
    s = _start() + timedelta(days=1)
    return {
        "action": "publish",
        "reference": "PAGE-1",
        "buyer_name": "DSO",
        "node": w.feeder.pk,
        "product": "peak_reduction",
        "direction": "down",
        "starts_at": s.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (s + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "kw_wanted": "5.0",
        "notice_minutes": "60",
        "utilisation_gbp_per_mwh": "306",
        "availability_gbp_per_mw_h": "0",
        "baseline_method": "dfs",
    }


ROUTES = [
    Route("vpp:index", ANY_ROLE, setup=_vpp),
    Route("vpp:rules", ANY_ROLE),
    Route("vpp:operator", OPERATOR_READERS, setup=_vpp),
    Route("vpp:buyer", BUYER, setup=_vpp),
    Route("vpp:buyer", BUYER, method="post", data=_page_requirement, label="POST vpp:buyer publish"),
    Route("vpp:event", EVENT_READERS, kwargs=_event_kwargs),
    Route("vpp:event_report_csv", EVENT_READERS, kwargs=_event_kwargs),
    Route("vpp-api:requirement-list", EVENT_READERS, api=True, setup=_vpp),
    Route(
        "vpp-api:requirement-list",
        BUYER,
        api=True,
        method="post",
        data=_requirement_data,
        label="POST vpp-api:requirement-list",
    ),
    Route("vpp-api:event-report", EVENT_READERS, kwargs=_event_kwargs, api=True),
    Route(
        "vpp-api:event-opt-out",
        roles("member"),
        kwargs=_event_kwargs,
        api=True,
        method="post",
        data=lambda w: {"enrolment": _vpp(w)["enrolment"].pk},
    ),
    Route("vpp-api:forecast", OPERATOR_READERS, api=True, setup=_vpp),
    Route("vpp-api:enrolment-list", ANY_ROLE, api=True),
]
