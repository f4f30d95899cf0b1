"""Thin HTML views of the VPP: the household, the operator, the flex buyer, one event, the sharing rule."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from assets.models import Device
from community import csvsafe
from community.access import community_view, has_role
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Role
from vpp import charts, selectors, services
from vpp.forms import BidForm, EnrolForm, RequirementForm, SharingRuleForm
from vpp.models import CONSENT_TEXT, Bid, Enrolment, Event, Requirement, SharingRule, SharingVote
from vpp.services.enrolment import CONTROLLABLE

OPERATORS = tuple(selectors.FLEX_OPERATORS)
OPERATOR_READERS = (*OPERATORS, Role.AUDITOR)
BUYERS = (Role.FLEX_BUYER,)


def _tabs(request, community) -> dict:
    roles = request.roles
    return {
        "community": community,
        "is_operator": bool(roles & set(OPERATOR_READERS)),
        "is_buyer": Role.FLEX_BUYER in roles,
    }


def _back(request, name: str, community, **kw):
    return redirect(name, slug=community.slug, **kw)


# ------------------------------------------------------------------ household


def _enrol_choices(user, community):
    devices = (
        Device.objects.filter(
            community=community, site__occupants=user, ownership=Device.Ownership.HOUSEHOLD, kind__in=CONTROLLABLE
        )
        .exclude(vpp_enrolments__left_at=None, vpp_enrolments__isnull=False)
        .select_related("site")
    )
    choices = [(f"device:{d.pk}", f"{d.name} ({d.get_kind_display()}) at {d.site.name}") for d in devices]
    for s in community.sites.filter(occupants=user).exclude(
        vpp_enrolments__kind=Enrolment.Kind.TURN_DOWN, vpp_enrolments__left_at=None
    ):
        choices.append((f"site:{s.pk}", f"Turn-down requests for {s.name} (measured at the meter)"))
    return choices


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    """My flexibility: enrolled devices and limits, upcoming events with one-tap opt-out, past events, earnings."""
    now = timezone.now()
    user = request.user
    choices = _enrol_choices(user, community)
    form = EnrolForm(request.POST if request.POST.get("action") == "enrol" else None, choices=choices)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "enrol":
                if not form.is_valid():
                    raise DomainError("Check the form.", field=None)
                what, pk = form.cleaned_data["target"].split(":")
                if what == "device":
                    device = get_object_or_404(Device, pk=int(pk), community=community)
                    services.enrolment_create(
                        site=device.site,
                        user=user,
                        device=device,
                        limits=form.limits(device.kind),
                        max_events_per_week=form.cleaned_data["max_events_per_week"],
                        now=now,
                    )
                else:
                    site = get_object_or_404(community.sites, pk=int(pk))
                    services.enrolment_create(
                        site=site, user=user, max_events_per_week=form.cleaned_data["max_events_per_week"], now=now
                    )
                messages.success(request, "Enrolled. Your consent runs for 12 months; you can leave at any time.")
                return _back(request, "vpp:index", community)
            if action in ("renew", "leave"):
                e = get_object_or_404(Enrolment, pk=request.POST.get("enrolment"), community=community, user=user)
                (services.enrolment_renew if action == "renew" else services.enrolment_leave)(
                    enrolment=e, user=user, now=now
                )
                messages.success(request, "Consent renewed for 12 months." if action == "renew" else "You have left.")
                return _back(request, "vpp:index", community)
            if action == "opt_out":
                e = get_object_or_404(Enrolment, pk=request.POST.get("enrolment"), community=community, user=user)
                ev = get_object_or_404(Event, pk=request.POST.get("event"), community=community)
                services.event_opt_out(event=ev, enrolment=e, user=user, now=now)
                if request.htmx:
                    return HttpResponse(f'<span class="badge" id="opt-{ev.pk}-{e.pk}">opted out</span>')
                messages.success(request, "You are opted out of that event.")
                return _back(request, "vpp:index", community)
            raise DomainError("Unknown action.")
        except DomainError as exc:
            status = 400
            if action == "enrol":
                apply_domain_error(form, exc)
            else:
                messages.error(request, exc.message)
    enrolments = list(
        Enrolment.objects.filter(community=community, user=user, left_at=None).select_related(
            "device", "site", "consent"
        )
    )
    deliveries = selectors.deliveries_for_user(user, community)
    past = []
    for d, payout in deliveries[:6]:
        starts = selectors.periods(d.event.starts_at, d.event.ends_at, community.settlement_period_minutes)
        past.append({"d": d, "payout": payout, "chart": charts.household_event(starts, d)})
    site_ids = list(community.sites.filter(occupants=user).values_list("pk", flat=True))
    commands = []
    for sid in site_ids:
        commands.extend(selectors.commands_for_site(sid, limit=50))
    commands.sort(key=lambda c: c.created_at, reverse=True)
    ctx = {
        **_tabs(request, community),
        "form": form,
        "choices": choices,
        "consent_text": CONSENT_TEXT.format(community=community.name, what="device or home"),
        "enrolments": [
            (e, e.consent.expires_at, e.consent.expires_at and e.consent.expires_at - now < timedelta(days=30))
            for e in enrolments
        ],
        "upcoming": selectors.events_upcoming_for_household(user, community, now),
        "past": past,
        "earned": selectors.earnings_total(user, community) or 0,
        "commands": commands[:50],
        "now": now,
    }
    return render(request, "vpp/index.html", ctx, status=status)


# ------------------------------------------------------------------ operator


@community_view(roles=OPERATOR_READERS)
def operator(request: HttpRequest, community) -> HttpResponse:
    """Portfolio flexibility by node (48 h), requirements and bids, events, M&V and payouts."""
    now = timezone.now()
    can_act = bool(request.roles & set(OPERATORS))
    status = 200
    if request.method == "POST":
        if not can_act:
            raise PermissionDenied("Only the VPP operator acts here; auditors read.")
        action = request.POST.get("action")
        try:
            if action == "propose":
                req = get_object_or_404(Requirement, pk=request.POST.get("requirement"), community=community)
                bid = services.bid_propose(requirement=req, now=now)
                messages.success(request, f"Proposed {bid.volume_kw} kW (the portfolio's P10) for {req.reference}.")
            elif action == "submit":
                bid = get_object_or_404(Bid, pk=request.POST.get("bid"), requirement__community=community)
                f = BidForm(request.POST)
                f.is_valid()
                services.bid_submit(
                    bid=bid,
                    actor=request.user,
                    volume_kw=request.POST.get("volume_kw"),
                    utilisation_gbp_per_mwh=request.POST.get("utilisation_gbp_per_mwh"),
                    now=now,
                )
                messages.success(request, f"Bid submitted to {bid.requirement.buyer_name}.")
            elif action == "pay":
                n = services.payouts_pay(community=community, actor=request.user, now=now)
                messages.success(request, f"Paid {n} households.")
            elif action == "settle":
                ev = get_object_or_404(Event, pk=request.POST.get("event"), community=community)
                s = services.event_settle(event=ev, now=now, actor=request.user)
                messages.success(request, f"Settled: {s.delivered_wh / 1000:.1f} kWh, £{s.revenue}.")
            else:
                raise DomainError("Unknown action.")
            return _back(request, "vpp:operator", community)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
    start = now.replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
    by_node = selectors.forecast_by_node(community, start=start, hours=48)
    starts = by_node[0][1].starts if by_node else []
    events = list(
        Event.objects.filter(community=community).select_related("requirement__node", "bid").order_by("-starts_at")[:20]
    )
    ctx = {
        **_tabs(request, community),
        "can_act": can_act,
        "forecast_chart": charts.forecast_by_node(by_node, starts) if by_node else "",
        "by_node": [(n, max(f.p50) if f.p50 else 0, len(f.units), f.priors) for n, f in by_node],
        "requirements": selectors.requirements_for(request.user, community)[:30],
        "events": events,
        "settlements": list(selectors.settlement_summary(community)[:10]),
        "unpaid": sum(
            1 for s in selectors.settlement_summary(community) for p in s.payouts.all() if not p.paid_at and p.amount
        ),
        "enrolled": Enrolment.objects.filter(community=community, left_at=None).aggregate(
            devices=Count("pk", filter=Q(kind="device")), homes=Count("site", distinct=True)
        ),
        "rule": selectors.rule_in_force(community, now),
        "now": now,
    }
    return render(request, "vpp/operator.html", ctx, status=status)


# ------------------------------------------------------------------ one event


def _event_for(request, community, event_id: int) -> Event:
    ev = get_object_or_404(
        Event.objects.select_related("requirement__node", "requirement__buyer", "bid"), pk=event_id, community=community
    )
    if request.roles & set(OPERATOR_READERS) or ev.requirement.buyer_id == request.user.pk:
        return ev
    raise PermissionDenied("Only the VPP's operators and the event's buyer can see this event.")


@community_view()
def event_detail(request: HttpRequest, community, event_id: int) -> HttpResponse:
    """Live tracking (plan vs actual, polled with htmx while running), M&V and commands."""
    ev = _event_for(request, community, event_id)
    if request.method == "POST":
        try:
            services.event_cancel(event=ev, actor=request.user)
            messages.success(request, "Event cancelled; devices handed back.")
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("vpp:event", slug=community.slug, event_id=ev.pk)
        return redirect("vpp:event", slug=community.slug, event_id=ev.pk)
    t = selectors.event_tracking(ev)
    operator_view = bool(request.roles & set(OPERATOR_READERS))
    ctx = {
        **_tabs(request, community),
        "ev": ev,
        "t": t,
        "tracking_chart": charts.event_tracking(t),
        "baselines_chart": charts.baselines(
            t["starts"], t["baselines_w"], t["actual_w"], ev.requirement.baseline_method
        )
        if t["baselines_w"]
        else "",
        "deliveries": list(ev.deliveries.select_related("site")),
        "runs": list(ev.runs.order_by("-number")[:20]),
        "commands": list(
            ev.commands.select_related("command", "enrolment__device", "enrolment__site").order_by("-created_at")[:100]
        )
        if operator_view
        else [],
        "operator_view": operator_view,
        "live": ev.status in (Event.Status.SCHEDULED, Event.Status.ACTIVE),
        "settlement": getattr(ev, "settlement", None) if hasattr(ev, "settlement") else None,
        "can_cancel": ev.status in (Event.Status.SCHEDULED, Event.Status.ACTIVE)
        and (ev.requirement.buyer_id == request.user.pk or bool(request.roles & set(OPERATORS))),
    }
    if request.htmx and request.GET.get("partial") == "tracking":
        return render(request, "vpp/event.html#tracking", ctx)
    return render(request, "vpp/event.html", ctx)


def _report_rows(ev: Event):
    starts = selectors.periods(ev.starts_at, ev.ends_at, ev.community.settlement_period_minutes)
    t = selectors.event_tracking(ev)
    for k, s in enumerate(starts):
        yield {
            "period_start": s.isoformat(),
            "target_w": t["target_w"][k],
            "planned_w": t["planned_w"][k],
            "commanded_w": t["sent_w"][k],
            "delivered_w": t["measured_w"][k],
            **{f"baseline_{m}_w": v[k] for m, v in t["baselines_w"].items()},
            "actual_w": t["actual_w"][k] if t["actual_w"] else None,
        }


@community_view()
def event_report_csv(request: HttpRequest, community, event_id: int) -> HttpResponse:
    """The buyer's delivery report: per period, target, plan, delivery and every baseline (aggregated)."""
    ev = _event_for(request, community, event_id)
    rows = list(_report_rows(ev))
    resp = HttpResponse(content_type="text/csv")
    resp["Content-Disposition"] = f'attachment; filename="delivery-{ev.requirement.reference}.csv"'
    w = csvsafe.writer(resp)
    if rows:
        w.writerow(list(rows[0]))
        for r in rows:
            w.writerow(list(r.values()))
    return resp


# ------------------------------------------------------------------ flex buyer


@community_view(roles=BUYERS)
def buyer(request: HttpRequest, community) -> HttpResponse:
    """Publish requirements, accept bids, read delivery reports."""
    now = timezone.now()
    form = RequirementForm(request.POST if request.POST.get("action") == "publish" else None, community=community)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "publish":
                if not form.is_valid():
                    raise DomainError("Check the form.")
                d = form.cleaned_data
                req = services.requirement_create(
                    community=community,
                    buyer=request.user,
                    buyer_name=d["buyer_name"],
                    reference=d["reference"],
                    node=d["node"],
                    starts_at=d["starts_at"],
                    ends_at=d["ends_at"],
                    kw_wanted=d["kw_wanted"],
                    utilisation_gbp_per_mwh=d["utilisation_gbp_per_mwh"],
                    availability_gbp_per_mw_h=d.get("availability_gbp_per_mw_h") or 0,
                    direction=d["direction"],
                    product=d["product"],
                    notice_minutes=d["notice_minutes"],
                    baseline_method=d["baseline_method"],
                    now=now,
                )
                messages.success(request, f"Published {req.reference}; the VPP will bid.")
            elif action == "accept":
                bid = get_object_or_404(Bid, pk=request.POST.get("bid"), requirement__community=community)
                services.bid_accept(bid=bid, actor=request.user, now=now)
                messages.success(request, "Bid accepted: the event is scheduled.")
            else:
                raise DomainError("Unknown action.")
            return _back(request, "vpp:buyer", community)
        except DomainError as exc:
            status = 400
            if action == "publish":
                apply_domain_error(form, exc)
            else:
                messages.error(request, exc.message)
    reqs = list(
        Requirement.objects.filter(community=community, buyer=request.user)
        .select_related("node")
        .prefetch_related("bids")
        .order_by("-starts_at")[:30]
    )
    events = {e.requirement_id: e for e in Event.objects.filter(requirement__in=reqs).select_related("settlement")}
    ctx = {**_tabs(request, community), "form": form, "rows": [(r, events.get(r.pk)) for r in reqs]}
    return render(request, "vpp/buyer.html", ctx, status=status)


# ------------------------------------------------------------------ sharing rule


@community_view()
def rules(request: HttpRequest, community) -> HttpResponse:
    """The sharing rule in force and proposals under vote (one member, one vote)."""
    now = timezone.now()
    form = SharingRuleForm(request.POST if request.POST.get("action") == "propose" else None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "propose":
                if not form.is_valid():
                    raise DomainError("Check the form.")
                services.sharing_rule_propose(
                    community=community,
                    actor=request.user,
                    values=form.cleaned_data,
                    reason=form.cleaned_data.get("reason", ""),
                    now=now,
                )
                messages.success(request, "Proposed: members can now vote.")
            elif action == "vote":
                rule = get_object_or_404(SharingRule, pk=request.POST.get("rule"), community=community)
                services.sharing_rule_vote(rule=rule, voter=request.user, choice=request.POST.get("choice", ""))
                messages.success(request, "Vote recorded.")
            elif action == "decide":
                rule = get_object_or_404(SharingRule, pk=request.POST.get("rule"), community=community)
                rule = services.sharing_rule_decide(rule=rule, actor=request.user, now=now)
                messages.success(request, f"Sharing rule v{rule.number} {rule.get_status_display().lower()}.")
            else:
                raise DomainError("Unknown action.")
            return _back(request, "vpp:rules", community)
        except DomainError as exc:
            status = 400
            if action == "propose":
                apply_domain_error(form, exc)
            else:
                messages.error(request, exc.message)
    proposals = list(
        SharingRule.objects.filter(community=community, status=SharingRule.Status.PROPOSED)
        .annotate(yes=Count("votes", filter=Q(votes__choice="yes")), no=Count("votes", filter=Q(votes__choice="no")))
        .order_by("-number")
    )
    mine = dict(SharingVote.objects.filter(voter=request.user, rule__in=proposals).values_list("rule_id", "choice"))
    ctx = {
        **_tabs(request, community),
        "form": form,
        "rule": selectors.rule_in_force(community, now),
        "proposals": [(p, mine.get(p.pk)) for p in proposals],
        "history": SharingRule.objects.filter(community=community)
        .exclude(status=SharingRule.Status.PROPOSED)
        .order_by("-number")[:10],
        "is_member": has_role(request.user, community, Role.MEMBER),
        "can_decide": selectors.is_operator(request.user, community),
    }
    return render(request, "vpp/rules.html", ctx, status=status)
