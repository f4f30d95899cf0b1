"""Pages of the value report (issue 17): thin views over `lem.services.value`
and `lem.value_selectors`.

- ``value``: the year's report for the convenor, the market operator and the
  auditor (run a new one: convenor and operator); a progress bar while a
  worker replays the year.
- ``value_household``: a household's estimate before it joins, its running
  figure after (a partial the "My market" page loads).
- ``value_rule``: the modelled effect of a proposed rules change on every
  household, for the vote.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from community.access import community_view
from community.errors import DomainError
from community.models import Role, Site
from lem import selectors
from lem import value_selectors as vs
from lem.models import RuleVersion, ValueReport
from lem.services import rules_in_force
from lem.services import value as value_services

READERS = (Role.MARKET_OPERATOR, Role.CONVENOR, Role.AUDITOR)
RUNNERS = (Role.MARKET_OPERATOR, Role.CONVENOR)


def _market(community):
    market = selectors.market_for(community)
    if market is None:
        raise Http404("This community has no local energy market yet.")
    return market


def _progress_ctx(report: ValueReport | None) -> dict:
    return {"report": report, "polling": report is not None and report.status in ("queued", "running")}


@community_view(READERS)
def value(request: HttpRequest, community) -> HttpResponse:
    market = _market(community)
    can_run = bool(set(RUNNERS) & request.roles)
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied("Only the convenor and the market operator run the value report.")
        try:
            report = value_services.value_report_request(market=market, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if report.status == ValueReport.Status.DONE:
                messages.info(request, "Nothing has changed since the last report: it is shown below.")
            else:
                messages.success(request, "Replaying the year: the progress bar below follows it.")
        return redirect("lem:value", slug=community.slug)
    running = vs.running_report(market)
    if request.htmx and request.GET.get("part") == "progress":
        if running is None:
            # finished: reload the page so the new figures show
            resp = HttpResponse(status=204)
            resp["HX-Refresh"] = "true"
            return resp
        return render(request, "lem/value.html#progress", {"community": community, **_progress_ctx(running)})
    report = vs.latest_report(market)
    failed = ValueReport.objects.filter(market=market, kind="year").order_by("-created_at").first()
    ctx = {
        "community": community,
        "market": market,
        "can_run": can_run,
        "is_operator": Role.MARKET_OPERATOR in request.roles,
        "failed": failed if failed and failed.status == ValueReport.Status.FAILED else None,
        **_progress_ctx(running),
        "done": report,
    }
    if report is not None:
        res = report.result
        ctx.update(
            res=res,
            s=res["summary"],
            rows=sorted(
                (r for r in res["sites"] if r["member"]), key=lambda r: (not r["household"], r["saving_after"])
            ),
            spread_chart=vs.spread_figure(res),
            months_chart=vs.months_figure(res),
            months=list(
                zip(
                    res["months"],
                    res["month_median_after"],
                    res["month_better_off"],
                    res["month_matched_kwh"],
                    strict=False,
                )
            ),
        )
    return render(request, "lem/value.html", ctx)


@community_view()
def value_household(request: HttpRequest, community) -> HttpResponse:
    """Before joining: what a home like yours would have gained; after: your figure."""
    market = _market(community)
    me = selectors.participants_of(request.user, market)
    report = vs.latest_report(market)
    ctx = {"community": community, "market": market, "report": report}
    if me:
        ctx["me"] = me[0]
        ctx["running"] = vs.running_figure(me[0])
        if report is not None:
            row = next((r for r in report.result.get("sites", []) if r["site"] == me[0].site_id), None)
            ctx["modelled"] = row
    else:
        homes = Site.objects.filter(community=community, occupants=request.user, kind=Site.Kind.HOME).order_by("pk")
        ctx["estimates"] = [(h, vs.estimate_for_site(report, h) if report else None) for h in homes]
    template = "lem/partials/value_household.html"
    if not request.htmx:
        template = "lem/value_household.html"
    return render(request, template, ctx)


@community_view()
def value_rule(request: HttpRequest, community, number: int) -> HttpResponse:
    """The modelled effect of proposed rules version ``number`` on every household."""
    market = _market(community)
    rule = get_object_or_404(RuleVersion, market=market, number=number)
    if not (request.roles & {Role.MEMBER, *READERS}):
        raise PermissionDenied("Only the community's members, convenor, operator and auditor see the modelled effect.")
    if request.method == "POST":
        try:
            value_services.value_report_request(market=market, actor=request.user, rule=rule)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("lem:value_rule", slug=community.slug, number=number)
    report = vs.latest_report(market, kind=ValueReport.Kind.PROPOSAL, rule=rule)
    running = vs.running_report(market, kind=ValueReport.Kind.PROPOSAL, rule=rule)
    if request.htmx and request.GET.get("part") == "progress" and running is None:
        resp = HttpResponse(status=204)
        resp["HX-Refresh"] = "true"
        return resp
    in_force = rules_in_force(market, timezone.now())
    ctx = {
        "community": community,
        "market": market,
        "rule": rule,
        "diff": vs.rules_diff(rule, in_force),
        "in_force": in_force,
        "done": report,
        **_progress_ctx(running),
    }
    if report is not None and "proposal" in report.result:
        ctx.update(
            now_s=report.result["summary"],
            new_s=report.result["proposal"]["summary"],
            change=vs.proposal_changes(report),
            chart=vs.proposal_figure(report),
        )
    if request.htmx:
        part = "progress" if request.GET.get("part") == "progress" else "effect"
        return render(request, f"lem/value_rule.html#{part}", ctx)
    return render(request, "lem/value_rule.html", ctx)


@community_view()
def order_preview(request: HttpRequest, community) -> HttpResponse:
    """What the order being typed would cost against the supplier alone (an htmx fragment)."""
    from datetime import timedelta

    from django.utils.dateparse import parse_datetime

    from assets.models import IntervalReading, Meter
    from lem.domain.agent import order_preview as preview
    from lem.services import import_price_at

    market = _market(community)
    me = selectors.participants_of(request.user, market)
    if not me:
        raise PermissionDenied("Only a household trading in this market previews orders.")
    me = me[0]
    q = request.GET
    ctx = {"community": community}
    try:
        quantity = int(q.get("quantity_wh") or 0)
        price = Decimal(q.get("price") or "")
    except (ValueError, ArithmeticError):
        return render(request, "lem/partials/order_preview.html", {**ctx, "error": "Enter a quantity and a price."})
    side = q.get("side") if q.get("side") in ("bid", "offer") else "bid"
    period = parse_datetime(q.get("period_start") or "") or selectors.next_open_period(market, timezone.now())
    if quantity <= 0:
        return render(request, "lem/partials/order_preview.html", {**ctx, "error": "Enter a quantity above zero."})
    rule = rules_in_force(market, period)
    same_times = [period - timedelta(days=d) for d in range(1, 8)]
    hist = [
        i - e
        for i, e in IntervalReading.objects.filter(
            meter__site_id=me.site_id, meter__kind=Meter.Kind.SITE, period_start__in=same_times
        ).values_list("import_wh", "export_wh")
    ]
    p = preview(
        side=side,
        quantity_wh=quantity,
        price=price,
        import_price=import_price_at(rule, market, period),
        export_price=rule.export_price,
        history_net_wh=hist,
    )
    return render(request, "lem/partials/order_preview.html", {**ctx, "p": p})
