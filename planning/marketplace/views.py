"""Thin HTML views for the marketplace: resolve access, call a selector or a service, render.

Who sees what:
- everyone in the community: open calls, funded projects, crowdfunding pages (and may apply and pledge);
- the applicant and their team: their proposals, grants and payment requests;
- reviewers: their queue and the rubric of proposals assigned to them;
- funders and the market operator: pipelines, decisions, reviewer assignment, money and outcomes;
- payment approvers: funders, the market operator and the treasurer;
- anyone at all, logged in or not: the public page of funded projects and its 360Giving export (open data).
"""

from __future__ import annotations

import secrets
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from community.access import community_view, has_role
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Community, Role

from . import charts, forms, selectors, services
from .domain import giving360
from .models import (
    Attachment,
    Call,
    Campaign,
    Grant,
    GrantMilestone,
    MonitoringReport,
    PaymentRequest,
    Proposal,
    ReviewAssignment,
)
from .selectors import APPROVERS, MANAGERS

READERS = (*MANAGERS, Role.AUDITOR)


def _is(request, community, roles) -> bool:
    return has_role(request.user, community, *roles)


def _back(request, fallback: str) -> HttpResponse:
    nxt = request.POST.get("next") or fallback
    if not nxt.startswith("/"):
        nxt = fallback
    return redirect(nxt)


def _act(request, fallback: str, fn, ok: str) -> HttpResponse:
    """A button's POST: run the service, then back to the page with its message (an error names the problem)."""
    try:
        fn()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)
    return _back(request, fallback)


def post_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        return view(request, *args, **kwargs)

    return wrapper


def _render(request, template, context, form=None):
    status = 400 if request.method == "POST" and form is not None and form.errors else 200
    return render(request, template, context, status=status)


# --- everyone ----------------------------------------------------------------------------


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    user = request.user
    return render(
        request,
        "marketplace/index.html",
        {
            "community": community,
            "calls": selectors.open_calls(community),
            "mine": selectors.my_proposals(community, user)[:20],
            "funded": selectors.funded_projects(community)[:6],
            "campaigns": selectors.live_campaigns(community).filter(status=Campaign.Status.LIVE)[:6],
            "queue": selectors.reviewer_queue(community, user).filter(status=ReviewAssignment.Status.PENDING).count()
            if _is(request, community, [Role.REVIEWER])
            else None,
            "is_manager": _is(request, community, MANAGERS),
            "is_reader": _is(request, community, READERS),
            "approvals": selectors.approvals_waiting(community, user).count()
            if _is(request, community, APPROVERS)
            else None,
        },
    )


@community_view()
def call_detail(request: HttpRequest, community, call_id: int) -> HttpResponse:
    call = get_object_or_404(selectors.calls(community).prefetch_related("criteria"), pk=call_id)
    return render(
        request,
        "marketplace/call.html",
        {
            "community": community,
            "call": call,
            "is_open": services.calls.call_is_open(call) and timezone.now() <= call.deadline,
            "is_manager": _is(request, community, MANAGERS),
            "mine": selectors.my_proposals(community, request.user).filter(call=call),
        },
    )


@community_view(MANAGERS)
def call_create(request: HttpRequest, community) -> HttpResponse:
    form = forms.CallForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            call = services.call_create(
                community=community,
                fund=d["fund"],
                funder=request.user,
                title=d["title"],
                objectives=d["objectives"],
                budget=d["budget"],
                max_award=d["max_award"],
                opens_at=d["opens_at"],
                deadline=d["deadline"],
                stages=d["stages"],
                full_deadline=d["full_deadline"],
                community_review=d["community_review"],
                criteria=form.parsed_criteria(),
                eligibility=form.parsed_eligibility(),
                support=(d["support"] or "").split(","),
                second_approval_over=d["second_approval_over"],
                actor=request.user,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        except forms.forms.ValidationError as exc:
            form.add_error("criteria", exc)
        else:
            messages.success(request, f"'{call.title}' is open for proposals.")
            return redirect("marketplace:call", slug=community.slug, call_id=call.pk)
    return _render(
        request,
        "marketplace/form.html",
        {"community": community, "form": form, "title": "Open a call for projects", "submit": "Open the call"},
        form,
    )


@community_view()
@post_only
def proposal_start(request: HttpRequest, community, call_id: int) -> HttpResponse:
    call = get_object_or_404(Call, community=community, pk=call_id)
    try:
        p = services.proposal_create(call=call, applicant=request.user, title=request.POST.get("title", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("marketplace:call", slug=community.slug, call_id=call.pk)
    return redirect("marketplace:proposal_edit", slug=community.slug, proposal_id=p.pk)


# --- applicant ---------------------------------------------------------------------------


def _proposal(community, proposal_id) -> Proposal:
    return get_object_or_404(
        Proposal.objects.select_related("call__fund", "applicant", "plan_action"),
        call__community=community,
        pk=proposal_id,
    )


def _on_team(p: Proposal, user) -> bool:
    return p.applicant_id == user.pk or p.team_users.filter(pk=user.pk).exists()


def _live_check(p: Proposal) -> list[str]:
    """What still stops this draft from being submitted (shown live beside the form)."""
    from .domain import rules

    problems = []
    try:
        lines = rules.parse_budget(p.budget_text)
        milestones = rules.parse_milestones(p.milestones_text)
        if p.stage == Proposal.Stage.FULL:
            rules.check_budget(requested=p.requested, lines=lines, milestones=milestones, max_award=p.call.max_award)
    except rules.RuleError as exc:
        problems.append(str(exc))
    problems += rules.eligibility_failures(p.call.eligibility, p.answers)
    if not p.description.strip():
        problems.append("Describe the project.")
    return problems


def _budget_totals(p: Proposal) -> dict:
    from .domain import rules

    try:
        b = rules.total(rules.parse_budget(p.budget_text))
    except rules.RuleError:
        b = None
    try:
        m = rules.total(rules.parse_milestones(p.milestones_text))
    except rules.RuleError:
        m = None
    return {"budget": b, "milestones": m}


@community_view()
def proposal_edit(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    """The applicant's form. htmx posts it as they type (the autosave) and swaps in the status line."""
    p = _proposal(community, proposal_id)
    if not _on_team(p, request.user):
        raise PermissionDenied("Only the applicant and their team can edit this proposal.")
    if p.status != Proposal.Status.DRAFT:
        return redirect("marketplace:proposal", slug=community.slug, proposal_id=p.pk)
    form = forms.ProposalForm(request.POST or None, proposal=p, initial=forms.proposal_initial(p))
    saved = False
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.proposal_save_draft(
                proposal=p,
                actor=request.user,
                values={k: d.get(k) for k in services.proposals.DRAFT_FIELDS} | {"requested": d.get("requested")},
                answers=form.answers(),
                team_users=list(d["team_users"]),
                plan_action=d["plan_action"],
            )
            saved = True
        except DomainError as exc:
            apply_domain_error(form, exc)
        p.refresh_from_db()
        if saved and not request.htmx and request.POST.get("then") == "submit":
            try:
                services.proposal_submit(proposal=p, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Submitted. You can follow its progress here.")
                return redirect("marketplace:proposal", slug=community.slug, proposal_id=p.pk)
            return redirect("marketplace:proposal_edit", slug=community.slug, proposal_id=p.pk)
        if saved and not request.htmx:
            messages.success(request, "Draft saved.")
            return redirect("marketplace:proposal_edit", slug=community.slug, proposal_id=p.pk)
    ctx = {
        "community": community,
        "p": p,
        "form": form,
        "saved": saved,
        "saved_at": timezone.localtime(),
        "problems": _live_check(p),
        "totals": _budget_totals(p),
        "attach_form": forms.AttachmentForm(),
        "attachments": p.attachments.all(),
    }
    if request.htmx:
        return render(request, "marketplace/proposal_edit.html#status", ctx, status=400 if form.errors else 200)
    return _render(request, "marketplace/proposal_edit.html", ctx, form)


@community_view()
@post_only
def proposal_submit(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    p = _proposal(community, proposal_id)
    if not _on_team(p, request.user):
        raise PermissionDenied
    try:
        services.proposal_submit(proposal=p, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("marketplace:proposal_edit", slug=community.slug, proposal_id=p.pk)
    messages.success(request, "Submitted. You can follow its progress here.")
    return redirect("marketplace:proposal", slug=community.slug, proposal_id=p.pk)


@community_view()
@post_only
def attachment_add(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    p = _proposal(community, proposal_id)
    if not _on_team(p, request.user):
        raise PermissionDenied
    url = reverse("marketplace:proposal_edit", kwargs={"slug": community.slug, "proposal_id": p.pk})
    return _act(
        request,
        url,
        lambda: services.attachment_add(proposal=p, upload=request.FILES.get("file"), actor=request.user),
        "File attached.",
    )


def _can_see_proposal(request, community, p: Proposal) -> bool:
    return _on_team(p, request.user) or _is(request, community, READERS) or selectors.assigned_reviewer(p, request.user)


@community_view()
def attachment_download(request: HttpRequest, community, attachment_id: int) -> HttpResponse:
    att = get_object_or_404(
        Attachment.objects.select_related("proposal"), proposal__call__community=community, pk=attachment_id
    )
    if not _can_see_proposal(request, community, att.proposal):
        raise PermissionDenied
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.name, content_type=att.content_type)


@community_view()
def proposal_detail(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    p = _proposal(community, proposal_id)
    voter = p.call.community_review and forms.is_member(request.user, community) and not _on_team(p, request.user)
    if not (_can_see_proposal(request, community, p) or voter):
        raise PermissionDenied("Only the applicant, the panel and its reviewers can see this proposal.")
    is_manager = _is(request, community, MANAGERS)
    is_reader = _is(request, community, READERS)
    grant = Grant.objects.filter(proposal=p).first()
    reviews = p.reviews.select_related("assignment__reviewer").order_by("submitted_at") if is_reader else None
    decided = p.status in (Proposal.Status.APPROVED, Proposal.Status.DECLINED)
    return render(
        request,
        "marketplace/proposal.html",
        {
            "community": community,
            "p": p,
            "grant": grant,
            "is_manager": is_manager,
            "is_reader": is_reader,
            "on_team": _on_team(p, request.user),
            "voter": voter and p.status in services.review.OPEN_FOR_REVIEW,
            "my_vote": p.votes.filter(voter=request.user).first() if voter else None,
            "votes": (p.votes.filter(support=True).count(), p.votes.filter(support=False).count()),
            "reviews": reviews,
            "applicant_comments": p.reviews.exclude(comment_applicant="").values_list("comment_applicant", flat=True)
            if decided and _on_team(p, request.user)
            else None,
            "assignments": p.assignments.select_related("reviewer") if is_reader else None,
            "assign_form": forms.AssignForm(community=community) if is_manager else None,
            "decision_form": forms.DecisionForm()
            if is_manager and p.status in services.review.OPEN_FOR_REVIEW
            else None,
            "history": selectors.proposal_history(p) if (is_reader or _on_team(p, request.user)) else None,
            "attachments": p.attachments.all() if _can_see_proposal(request, community, p) else None,
            "criteria": p.call.criteria.all(),
        },
    )


# --- funder ------------------------------------------------------------------------------


@community_view(MANAGERS)
@post_only
def reviewer_assign(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    p = _proposal(community, proposal_id)
    reviewer = get_user_model().objects.filter(pk=request.POST.get("reviewer") or 0).first()
    url = reverse("marketplace:proposal", kwargs={"slug": community.slug, "proposal_id": p.pk})
    if reviewer is None:
        messages.error(request, "Choose a reviewer.")
        return _back(request, url)
    return _act(
        request,
        url,
        lambda: services.reviewer_assign(proposal=p, reviewer=reviewer, actor=request.user),
        f"Asked {reviewer.get_full_name() or reviewer.username} to review.",
    )


@community_view(MANAGERS)
@post_only
def proposal_decide(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    p = _proposal(community, proposal_id)
    url = reverse("marketplace:proposal", kwargs={"slug": community.slug, "proposal_id": p.pk})
    return _act(
        request,
        url,
        lambda: services.proposal_decide(
            proposal=p,
            decision=request.POST.get("decision", ""),
            reasons=request.POST.get("reasons", ""),
            message=request.POST.get("message", ""),
            amount=request.POST.get("amount") or None,
            actor=request.user,
        ),
        "Decision recorded; the applicant sees your message.",
    )


@community_view([Role.MEMBER])
@post_only
def community_vote(request: HttpRequest, community, proposal_id: int) -> HttpResponse:
    p = _proposal(community, proposal_id)
    url = reverse("marketplace:proposal", kwargs={"slug": community.slug, "proposal_id": p.pk})
    return _act(
        request,
        url,
        lambda: services.community_vote_cast(
            proposal=p, voter=request.user, support=request.POST.get("support") == "yes"
        ),
        "Your vote is counted (you can change it until voting closes).",
    )


@community_view(MANAGERS)
def pipeline(request: HttpRequest, community, call_id: int) -> HttpResponse:
    call = get_object_or_404(Call.objects.select_related("fund"), community=community, pk=call_id)
    sort = request.GET.get("sort", "score")
    pipe = selectors.call_pipeline(call, page=request.GET.get("page") or 1, sort=sort)
    return render(
        request,
        "marketplace/pipeline.html",
        {
            "community": community,
            "call": call,
            "pipe": pipe,
            "sort": sort,
            "status_chart": charts.pipeline_bars(pipe.counts),
            "score_chart": charts.score_histogram(pipe.scores) if pipe.scores else "",
            "left": call.budget - pipe.committed,
        },
    )


@community_view(READERS)
def funding(request: HttpRequest, community) -> HttpResponse:
    money = selectors.call_money(community)
    decided = (
        Proposal.objects.filter(
            call__community=community, status__in=[Proposal.Status.APPROVED, Proposal.Status.DECLINED]
        )
        .select_related("call", "decided_by")
        .order_by("-decided_at")[:30]
    )
    return render(
        request,
        "marketplace/funding.html",
        {
            "community": community,
            "money": money,
            "spend_chart": charts.spend_against_budget(money) if money else "",
            "decided": decided,
            "outstanding": selectors.outstanding_reviews(community),
            "approvals": selectors.approvals_waiting(community, request.user),
            "completed": selectors.funded_projects(community).filter(status=Grant.Status.COMPLETED),
            "calls": selectors.calls(community),
            "is_manager": _is(request, community, MANAGERS),
        },
    )


# --- reviewer ----------------------------------------------------------------------------


@community_view([Role.REVIEWER])
def review_queue(request: HttpRequest, community) -> HttpResponse:
    items = list(selectors.reviewer_queue(community, request.user))
    return render(
        request,
        "marketplace/queue.html",
        {
            "community": community,
            "todo": [a for a in items if a.status == ReviewAssignment.Status.PENDING],
            "done": [a for a in items if a.status != ReviewAssignment.Status.PENDING],
        },
    )


def _assignment(request, community, assignment_id) -> ReviewAssignment:
    a = get_object_or_404(
        ReviewAssignment.objects.select_related("proposal__call", "proposal__applicant"),
        proposal__call__community=community,
        pk=assignment_id,
    )
    if a.reviewer_id != request.user.pk:
        raise PermissionDenied("This review is assigned to someone else.")
    return a


@community_view([Role.REVIEWER])
def review(request: HttpRequest, community, assignment_id: int) -> HttpResponse:
    a = _assignment(request, community, assignment_id)
    criteria = list(a.proposal.call.criteria.all())
    form = forms.ReviewForm(request.POST or None, criteria=criteria)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            services.review_submit(
                assignment=a,
                scores=form.scores(),
                recommendation=form.cleaned_data["recommendation"],
                comment_panel=form.cleaned_data["comment_panel"],
                comment_applicant=form.cleaned_data["comment_applicant"],
                actor=request.user,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "Review submitted. Thank you.")
            return redirect("marketplace:queue", slug=community.slug)
    if request.method == "POST":
        try:
            preview = services.score_preview(call=a.proposal.call, scores=form.scores())
        except DomainError:
            preview = None
    return _render(
        request,
        "marketplace/review.html",
        {
            "community": community,
            "a": a,
            "p": a.proposal,
            "form": form,
            "preview": preview,
            "attachments": a.proposal.attachments.all(),
        },
        form,
    )


@community_view([Role.REVIEWER])
@post_only
def review_preview(request: HttpRequest, community, assignment_id: int) -> HttpResponse:
    """The weighted total while scoring (htmx: the rubric posts here on every change)."""
    a = _assignment(request, community, assignment_id)
    form = forms.ReviewForm(request.POST, criteria=a.proposal.call.criteria.all())
    error = None
    try:
        total = services.score_preview(call=a.proposal.call, scores=form.scores())
    except DomainError as exc:
        total, error = None, exc.message
    return render(request, "marketplace/review.html#total", {"preview": total, "preview_error": error})


@community_view([Role.REVIEWER])
@post_only
def conflict_declare(request: HttpRequest, community, assignment_id: int) -> HttpResponse:
    a = _assignment(request, community, assignment_id)
    url = reverse("marketplace:queue", kwargs={"slug": community.slug})
    return _act(
        request,
        url,
        lambda: services.conflict_declare(assignment=a, reason=request.POST.get("reason", ""), actor=request.user),
        "Conflict declared: the panel will ask someone else.",
    )


# --- grants ------------------------------------------------------------------------------


def _grant(request, community, grant_id) -> tuple[Grant, bool, bool]:
    try:
        g = selectors.grant_detail(grant_id, community)
    except Grant.DoesNotExist:
        raise Http404("No such grant.") from None
    grantee = _on_team(g.proposal, request.user)
    approver = _is(request, community, APPROVERS)
    if not (grantee or approver or _is(request, community, READERS)):
        raise PermissionDenied("Only the grantee and the funding panel see a grant's money.")
    return g, grantee, approver


@community_view()
def grant_detail(request: HttpRequest, community, grant_id: int) -> HttpResponse:
    g, grantee, approver = _grant(request, community, grant_id)
    paid = services.grant_paid(g)
    return render(
        request,
        "marketplace/grant.html",
        {
            "community": community,
            "g": g,
            "p": g.proposal,
            "grantee": grantee,
            "approver": approver,
            "is_manager": _is(request, community, MANAGERS),
            "paid": paid,
            "left": g.amount - paid,
            "budget": selectors.grant_budget_vs_spend(g),
            "spend": selectors.latest_spend(g),
            "today": timezone.localdate(),
        },
    )


def _grant_url(community, g) -> str:
    return reverse("marketplace:grant", kwargs={"slug": community.slug, "grant_id": g.pk})


@community_view()
@post_only
def grant_accept(request: HttpRequest, community, grant_id: int) -> HttpResponse:
    g, grantee, _ = _grant(request, community, grant_id)
    if not grantee:
        raise PermissionDenied
    return _act(
        request,
        _grant_url(community, g),
        lambda: services.grant_accept(grant=g, actor=request.user),
        "Agreement signed: you can now ask for payments.",
    )


@community_view()
@post_only
def payment_request(request: HttpRequest, community, grant_id: int) -> HttpResponse:
    g, grantee, _ = _grant(request, community, grant_id)
    if not grantee:
        raise PermissionDenied
    milestone = GrantMilestone.objects.filter(grant=g, pk=request.POST.get("milestone") or 0).first()
    return _act(
        request,
        _grant_url(community, g),
        lambda: services.payment_request_create(
            grant=g,
            amount=request.POST.get("amount", ""),
            milestone=milestone,
            note=request.POST.get("note", ""),
            actor=request.user,
        ),
        "Payment requested: the panel approves it.",
    )


@community_view(APPROVERS)
@post_only
def payment_decide(request: HttpRequest, community, grant_id: int, request_id: int) -> HttpResponse:
    g, _, _ = _grant(request, community, grant_id)
    req = get_object_or_404(PaymentRequest, grant=g, pk=request_id)
    if request.POST.get("action") == "reject":
        return _act(
            request,
            _grant_url(community, g),
            lambda: services.payment_reject(request=req, reason=request.POST.get("reason", ""), actor=request.user),
            "Request rejected.",
        )

    def approve():
        out = services.payment_approve(request=req, actor=request.user)
        if out.status == PaymentRequest.Status.PARTLY:
            messages.info(request, "First approval recorded: a second person approves payments this large.")

    return _act(request, _grant_url(community, g), approve, "Approved.")


@community_view()
@post_only
def milestone_complete(request: HttpRequest, community, grant_id: int, milestone_id: int) -> HttpResponse:
    g, grantee, _ = _grant(request, community, grant_id)
    if not grantee:
        raise PermissionDenied
    m = get_object_or_404(GrantMilestone, grant=g, pk=milestone_id)
    return _act(
        request,
        _grant_url(community, g),
        lambda: services.milestone_complete(milestone=m, evidence=request.POST.get("evidence", ""), actor=request.user),
        "Milestone marked met.",
    )


@community_view()
@post_only
def report_submit(request: HttpRequest, community, grant_id: int, report_id: int) -> HttpResponse:
    g, grantee, _ = _grant(request, community, grant_id)
    if not grantee:
        raise PermissionDenied
    r = get_object_or_404(MonitoringReport, grant=g, pk=report_id)
    return _act(
        request,
        _grant_url(community, g),
        lambda: services.report_submit(
            report=r,
            progress=request.POST.get("progress", ""),
            spend_to_date=request.POST.get("spend_to_date", ""),
            actor=request.user,
        ),
        "Report submitted.",
    )


@community_view(MANAGERS)
@post_only
def grant_complete(request: HttpRequest, community, grant_id: int) -> HttpResponse:
    g, _, _ = _grant(request, community, grant_id)
    return _act(
        request,
        _grant_url(community, g),
        lambda: services.grant_complete(
            grant=g,
            outcomes=request.POST.get("outcomes", ""),
            lessons=request.POST.get("lessons", ""),
            actor=request.user,
        ),
        "Project completed; its outcomes are on the funded-projects page.",
    )


# --- crowdfunding ------------------------------------------------------------------------


@community_view()
def campaign_create(request: HttpRequest, community) -> HttpResponse:
    form = forms.CampaignForm(request.POST or None, community=community, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = services.campaign_create(
                community=community,
                owner=request.user,
                title=d["title"],
                story=d["story"],
                target=d["target"],
                deadline=d["deadline"],
                mode=d["mode"],
                fee_rate=d["fee_rate"],
                proposal=d["proposal"],
                match_fund=d["match_fund"],
                match_ratio=d["match_ratio"],
                match_cap=d["match_cap"],
                match_rule=d["match_rule"],
                actor=request.user,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "Your crowdfunding page is live.")
            return redirect("marketplace:campaign", slug=community.slug, campaign_id=c.pk)
    return _render(
        request,
        "marketplace/form.html",
        {"community": community, "form": form, "title": "Start a crowdfunding page", "submit": "Go live"},
        form,
    )


@community_view()
def campaign_detail(request: HttpRequest, community, campaign_id: int) -> HttpResponse:
    c = get_object_or_404(
        Campaign.objects.select_related("match_fund", "owner", "proposal"), community=community, pk=campaign_id
    )
    matched = c.matched if c.status != Campaign.Status.LIVE else services.match_projection(c)
    mine = c.pledges.filter(backer=request.user).order_by("-pledged_at")
    yes, no = services.match_votes(c)
    ctx = {
        "community": community,
        "c": c,
        "matched": matched,
        "total": c.raised + matched,
        "pct": min(100, int((c.raised + matched) * 100 / c.target)) if c.target else 0,
        "chart": charts.campaign_progress(float(c.raised), float(matched), float(c.target)),
        "mine": mine,
        "backers": c.pledges.values("backer").distinct().count(),
        "form": forms.PledgeForm(initial={"token": secrets.token_urlsafe(16)}),
        "is_live": c.status == Campaign.Status.LIVE and timezone.now() < c.deadline,
        "votes": (yes, no),
        "can_vote": c.match_rule == Campaign.MatchRule.MEMBER_VOTE and forms.is_member(request.user, community),
        "my_vote": c.match_votes.filter(voter=request.user).first(),
    }
    return render(request, "marketplace/campaign.html", ctx)


@community_view()
@post_only
def pledge(request: HttpRequest, community, campaign_id: int) -> HttpResponse:
    c = get_object_or_404(Campaign, community=community, pk=campaign_id)
    url = reverse("marketplace:campaign", kwargs={"slug": community.slug, "campaign_id": c.pk})
    return _act(
        request,
        url,
        lambda: services.pledge_create(
            campaign=c, backer=request.user, amount=request.POST.get("amount", ""), token=request.POST.get("token", "")
        ),
        "Thank you: your pledge is held until the deadline.",
    )


@community_view([Role.MEMBER])
@post_only
def match_vote(request: HttpRequest, community, campaign_id: int) -> HttpResponse:
    c = get_object_or_404(Campaign, community=community, pk=campaign_id)
    url = reverse("marketplace:campaign", kwargs={"slug": community.slug, "campaign_id": c.pk})
    return _act(
        request,
        url,
        lambda: services.match_vote_cast(campaign=c, voter=request.user, release=request.POST.get("release") == "yes"),
        "Your vote is counted.",
    )


# --- open data (no log-in) ---------------------------------------------------------------


def _public_community(slug: str) -> Community:
    return get_object_or_404(Community, slug=slug)


def funded(request: HttpRequest, slug: str) -> HttpResponse:
    community = _public_community(slug)
    return render(
        request,
        "marketplace/funded.html",
        {
            "community": community,
            "grants": selectors.funded_projects(community),
            "campaigns": Campaign.objects.filter(community=community, status=Campaign.Status.SUCCEEDED),
        },
    )


def giving360_json(request: HttpRequest, slug: str) -> HttpResponse:
    community = _public_community(slug)
    body = giving360.to_json(
        selectors.giving360_rows(community), prefix=f"cem-{community.slug}", data_source=request.build_absolute_uri()
    )
    resp = HttpResponse(body, content_type="application/json")
    resp["Content-Disposition"] = f'inline; filename="{community.slug}-360giving.json"'
    return resp


def giving360_csv(request: HttpRequest, slug: str) -> HttpResponse:
    community = _public_community(slug)
    body = giving360.to_csv(
        selectors.giving360_rows(community), prefix=f"cem-{community.slug}", data_source=request.build_absolute_uri()
    )
    resp = HttpResponse(body, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{community.slug}-360giving.csv"'
    return resp
