"""Who may use each grid page and endpoint (walked by tests/test_permission_matrix.py)."""

from __future__ import annotations

from datetime import timedelta

from tests.routes import ANY_ROLE, Route, roles

READERS = roles("network_operator", "asset_operator", "market_operator", "convenor", "auditor")
DSO = roles("network_operator")


def _dso_nodes(w) -> None:
    """The network operator operates Feeder A; a segment over Feeder B; one statement on Feeder A."""
    if "balancing" in w.extra:
        return
    from django.utils import timezone

    from community.services import constraint_statement_issue
    from vpp.balancing import services

    services.node_operator_assign(community=w.community, user=w.users["network_operator"], node=w.feeder)
    seg = services.segment_create(
        community=w.community, node=w.feeder2, name="Feeder B estate", import_limit_w=50_000, export_limit_w=40_000
    )
    now = timezone.now()
    st = constraint_statement_issue(
        community=w.community,
        node=w.feeder,
        reference="DSO-TEST-1",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        import_limit_kw=120,
        export_limit_kw=60,
        actor=w.users["network_operator"],
    )
    w.extra["balancing"] = {"segment": seg, "statement": st}


def _statement_form(w) -> dict:
    from django.utils import timezone

    start = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_default_timezone())
    return {
        "node": w.feeder.pk,
        "reference": "DSO-FORM-1",
        "horizon": "day_ahead",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "import_limit_kw": "100",
        "export_limit_kw": "50",
        "reason": "planned works",
    }


def _statement_api(w) -> dict:
    from django.utils import timezone

    start = timezone.now() + timedelta(days=1)
    return {
        "node": w.feeder.pk,
        "reference": "DSO-API-1",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "import_limit_kw": "90",
        "export_limit_kw": "40",
    }


def _slug(w) -> dict:
    return {"slug": w.community.slug}


ROUTES = [
    Route("balancing:index", ANY_ROLE, setup=_dso_nodes),
    Route("balancing:household", ANY_ROLE),
    Route("balancing:constraints", READERS, setup=_dso_nodes),
    Route(
        "balancing:constraints",
        DSO,
        method="post",
        setup=_dso_nodes,
        data=_statement_form,
        label="POST balancing:constraints",
        success_redirects=True,
    ),
    Route(
        "balancing:constraint_withdraw",
        DSO,
        method="post",
        setup=_dso_nodes,
        kwargs=lambda w: {"slug": w.community.slug, "statement_id": w.extra["balancing"]["statement"].pk},
        success_redirects=True,
    ),
    Route(
        "balancing:resolve",
        roles("asset_operator"),
        method="post",
        setup=_dso_nodes,
        kwargs=lambda w: {"slug": w.community.slug, "segment_id": w.extra["balancing"]["segment"].pk},
        success_redirects=True,
    ),
    Route("balancing-api:statement-list", DSO, setup=_dso_nodes, api=True),
    Route(
        "balancing-api:statement-list",
        DSO,
        method="post",
        setup=_dso_nodes,
        data=_statement_api,
        api=True,
        label="POST balancing-api:statement-list",
    ),
    Route(
        "balancing-api:statement-withdraw",
        DSO,
        method="post",
        setup=_dso_nodes,
        api=True,
        kwargs=lambda w: {"slug": w.community.slug, "statement_id": w.extra["balancing"]["statement"].pk},
    ),
    Route("balancing-api:node-flows", DSO, setup=_dso_nodes, api=True),
    Route("balancing-api:responses", DSO, setup=_dso_nodes, api=True),
]
