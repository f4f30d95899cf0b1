"""Who may use each marketplace page and endpoint (walked by tests/test_permission_matrix.py)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.routes import ANY_ROLE, EVERYONE_SET, Route, roles

MANAGERS = roles("funder", "market_operator")
READERS = roles("funder", "market_operator", "auditor")
APPLICANT = roles("member")
# the member applied; the reviewer is assigned; the panel and the auditor read
PROPOSAL_READERS = roles("member", "reviewer", "funder", "market_operator", "auditor")
GRANT_READERS = roles("member", "funder", "market_operator", "treasurer", "auditor")
APPROVERS = roles("funder", "market_operator", "treasurer")


def _mp(w) -> dict:
    """A call, a draft and a submitted proposal of the "member" user (the reviewer assigned), an active
    grant with a payment request, an offered grant, a live campaign."""
    if "mp" in w.extra:
        return w.extra["mp"]
    from planning.marketplace import services
    from tests.marketplace import factories as f

    call = f.call(w)
    draft = f.filled_proposal(w, call, title="Draft idea", submit=False)
    sub = f.filled_proposal(w, call, title="Submitted idea", submit=False)
    att = services.attachment_add(
        proposal=sub, upload=SimpleUploadedFile("plan.pdf", b"%PDF-1.4 test"), actor=w.users["member"]
    )
    services.proposal_submit(proposal=sub, actor=w.users["member"])
    a = services.reviewer_assign(proposal=sub, reviewer=w.users["reviewer"], actor=w.users["funder"])
    funded = f.filled_proposal(w, call, title="Funded idea")
    grant = f.approved(w, funded)
    services.grant_accept(grant=grant, actor=w.users["member"])
    ms = grant.milestone_rows.first()
    req = services.payment_request_create(grant=grant, amount="100", milestone=ms, actor=w.users["member"])
    offered = f.approved(
        w,
        f.filled_proposal(
            w,
            call,
            title="Offered idea",
            requested="1000",
            budget_text="Kit | kit | 1000",
            milestones_text="Done | 2030-01-01 | 1000",
        ),
    )
    from datetime import timedelta

    from django.utils import timezone

    camp = services.campaign_create(
        community=w.community,
        owner=w.users["member"],
        title="Hut roof",
        story="Solar on the hut.",
        target="500",
        deadline=timezone.now() + timedelta(days=5),
        match_fund=call.fund,
        match_cap="100",
    )
    w.extra["mp"] = {
        "call": call,
        "draft": draft,
        "sub": sub,
        "att": att,
        "assignment": a,
        "grant": grant,
        "ms": ms,
        "req": req,
        "report": grant.reports.first(),
        "offered": offered,
        "camp": camp,
    }
    return w.extra["mp"]


def _k(**names):
    """kwargs builder: _k(call_id="call") → {"slug": ..., "call_id": mp["call"].pk}."""

    def build(w):
        mp = _mp(w)
        return {"slug": w.community.slug, **{k: mp[v].pk for k, v in names.items()}}

    return build


def _slug(w):
    return {"slug": w.community.slug}


ROUTES = [
    Route("marketplace:index", ANY_ROLE),
    Route("marketplace:call_create", MANAGERS),
    Route("marketplace:call", ANY_ROLE, kwargs=_k(call_id="call")),
    Route("marketplace:apply", ANY_ROLE, kwargs=_k(call_id="call"), method="post", data=lambda w: {"title": "Idea"}),
    Route("marketplace:pipeline", MANAGERS, kwargs=_k(call_id="call")),
    Route("marketplace:proposal", PROPOSAL_READERS, kwargs=_k(proposal_id="sub")),
    Route("marketplace:proposal_edit", APPLICANT, kwargs=_k(proposal_id="draft")),
    Route("marketplace:proposal_submit", APPLICANT, kwargs=_k(proposal_id="draft"), method="post"),
    Route("marketplace:attach", APPLICANT, kwargs=_k(proposal_id="draft"), method="post"),
    Route(
        "marketplace:assign",
        MANAGERS,
        kwargs=_k(proposal_id="sub"),
        method="post",
        data=lambda w: {"reviewer": w.users["reviewer"].pk},
    ),
    Route(
        "marketplace:decide",
        MANAGERS,
        kwargs=_k(proposal_id="sub"),
        method="post",
        data=lambda w: {"decision": "decline", "reasons": "Out of scope", "message": "Sorry"},
    ),
    Route(
        "marketplace:vote", APPLICANT, kwargs=_k(proposal_id="sub"), method="post", data=lambda w: {"support": "yes"}
    ),
    Route("marketplace:attachment", PROPOSAL_READERS, kwargs=_k(attachment_id="att")),
    Route("marketplace:queue", roles("reviewer"), kwargs=_slug),
    Route("marketplace:review", roles("reviewer"), kwargs=_k(assignment_id="assignment")),
    Route("marketplace:review_preview", roles("reviewer"), kwargs=_k(assignment_id="assignment"), method="post"),
    Route(
        "marketplace:conflict",
        roles("reviewer"),
        kwargs=_k(assignment_id="assignment"),
        method="post",
        data=lambda w: {"reason": "My sister runs it"},
    ),
    Route("marketplace:funding", READERS),
    Route("marketplace:grant", GRANT_READERS, kwargs=_k(grant_id="grant")),
    Route("marketplace:grant_accept", APPLICANT, kwargs=_k(grant_id="offered"), method="post"),
    Route(
        "marketplace:payment_request",
        APPLICANT,
        kwargs=_k(grant_id="grant"),
        method="post",
        data=lambda w: {"amount": "50"},
    ),
    Route(
        "marketplace:payment_decide",
        APPROVERS,
        kwargs=_k(grant_id="grant", request_id="req"),
        method="post",
        data=lambda w: {"action": "approve"},
    ),
    Route(
        "marketplace:milestone_complete",
        APPLICANT,
        kwargs=_k(grant_id="grant", milestone_id="ms"),
        method="post",
        data=lambda w: {"evidence": "Photos"},
    ),
    Route(
        "marketplace:report_submit",
        APPLICANT,
        kwargs=_k(grant_id="grant", report_id="report"),
        method="post",
        data=lambda w: {"progress": "On track", "spend_to_date": "100"},
    ),
    Route(
        "marketplace:grant_complete",
        MANAGERS,
        kwargs=_k(grant_id="grant"),
        method="post",
        data=lambda w: {"outcomes": "Done", "lessons": "Plan early"},
    ),
    Route("marketplace:campaign_create", ANY_ROLE),
    Route("marketplace:campaign", ANY_ROLE, kwargs=_k(campaign_id="camp")),
    Route(
        "marketplace:pledge",
        ANY_ROLE,
        kwargs=_k(campaign_id="camp"),
        method="post",
        data=lambda w: {"amount": "10", "token": "t1"},
    ),
    Route(
        "marketplace:match_vote",
        APPLICANT,
        kwargs=_k(campaign_id="camp"),
        method="post",
        data=lambda w: {"release": "yes"},
    ),
    Route("marketplace:funded", EVERYONE_SET),
    Route("marketplace:giving360_json", EVERYONE_SET),
    Route("marketplace:giving360_csv", EVERYONE_SET),
    # API
    Route("marketplace-api:call-list", ANY_ROLE, api=True, kwargs=_slug),
    Route("marketplace-api:my-proposals", ANY_ROLE, api=True, kwargs=_slug),
    Route("marketplace-api:grant-list", ANY_ROLE, api=True, kwargs=_slug),
    Route(
        "marketplace-api:review-submit",
        roles("reviewer"),
        api=True,
        kwargs=_k(assignment_id="assignment"),
        method="post",
        data=lambda w: {"recommendation": "fund"} | {f"scores.{c.pk}": 1 for c in _mp(w)["call"].criteria.all()},
    ),
    Route(
        "marketplace-api:pledge-create",
        ANY_ROLE,
        api=True,
        kwargs=_k(campaign_id="camp"),
        method="post",
        data=lambda w: {"amount": "5", "token": "api-1"},
    ),
]
