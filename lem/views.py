"""Thin HTML views of the market: resolve access, call a selector or a service, render."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from django.contrib import messages
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from community import csvsafe
from community.access import community_view
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Role, Site
from community.params import parse_int, parse_time
from lem import charts as lem_charts
from lem import selectors, services
from lem.forms import AgentForm, CreditForm, MarketForm, OrderForm, PaymentForm, RulesForm, VoteForm
from lem.models import ClearingRun, Order, Participant, RuleVersion
from lem.statement_words import tolerance_note

OPERATOR = (Role.MARKET_OPERATOR,)
BOOK_ROWS = 40
OPERATOR_READERS = (Role.MARKET_OPERATOR, Role.AUDITOR, Role.CONVENOR)


def _market(community) -> object:
    market = selectors.market_for(community)
    if market is None:
        raise Http404("This community has no local energy market yet.")
    return market


def _parse_period(market, raw: str | None):
    if not raw:
        return None
    try:
        return parse_time(raw, "period")
    except DomainError:
        raise Http404("No such period.") from None


def _my_participant(request, market) -> Participant | None:
    parts = selectors.participants_of(request.user, market)
    return parts[0] if parts else None


# ------------------------------------------------------------------ public


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    """The public market: this period's pseudonymous order book and recent prices."""
    market = selectors.market_for(community)
    if market is None:
        return render(request, "lem/no_market.html", {"community": community})
    now = timezone.now()
    period = _parse_period(market, request.GET.get("period")) or selectors.next_open_period(market, now)
    runs = selectors.recent_runs(market, 48)
    ctx = {
        "community": community,
        "market": market,
        "period": period,
        "prev_period": period - services.period_length(market),
        "next_period": period + services.period_length(market),
        "gate": services.gate_closure(market, period),
        "run": ClearingRun.objects.filter(market=market, period_start=period).first(),
        "runs": runs[:12],
        "last_price": next((r.clearing_price for r in runs if r.clearing_price is not None), None),
        "price_chart": lem_charts.recent_prices(runs),
        "summary": selectors.community_summary(market, now - timedelta(days=30)),
        "rule": selectors.rule_in_force_now(market),
        "me": _my_participant(request, market),
        "is_operator": Role.MARKET_OPERATOR in request.roles,
    }
    book = selectors.public_book(market, period)
    # both sides of the book (issue 15): bids best first, offers cheapest first
    show_all = request.GET.get("all") == "1"
    bids = sorted((r for r in book if r.side == "bid"), key=lambda r: -r.price)
    offers = sorted((r for r in book if r.side == "offer"), key=lambda r: r.price)
    rows = len(book) if show_all else BOOK_ROWS // 2
    ctx.update(
        book=book[:BOOK_ROWS],
        book_bid_rows=bids[:rows],
        book_offer_rows=offers[:rows],
        book_bids_more=max(0, len(bids) - rows),
        book_offers_more=max(0, len(offers) - rows),
        book_more=max(0, len(book) - BOOK_ROWS),
        book_bids=len(bids),
        book_offers=len(offers),
    )
    if request.htmx:
        return render(request, "lem/index.html#book", ctx)
    return render(request, "lem/index.html", ctx)


@community_view()
def run_detail(request: HttpRequest, community, run_id: int) -> HttpResponse:
    market = _market(community)
    run = get_object_or_404(ClearingRun, pk=run_id, market=market)
    replay = services.market_replay(run=run) if request.GET.get("replay") else None
    ctx = {
        "community": community,
        "market": market,
        "run": run,
        "book": selectors.public_book(market, run.period_start),
        "replay": replay,
    }
    return render(request, "lem/run.html", ctx)


# ------------------------------------------------------------------ household


def _period_choices(market, now):
    p = selectors.next_open_period(market, now)
    step = services.period_length(market)
    return [(p + i * step).isoformat() for i in range(12)]


@community_view()
def my_market(request: HttpRequest, community) -> HttpResponse:
    market = _market(community)
    now = timezone.now()
    me = _my_participant(request, market)
    periods = [
        (x, timezone.localtime(parse_datetime(x)).strftime("%a %d %b %H:%M")) for x in _period_choices(market, now)
    ]
    order_form = OrderForm(periods=periods, initial={"side": "bid", "energy_source": "solar"})
    agent_form = AgentForm(
        initial=me
        and {
            "agent_enabled": me.agent_enabled,
            "min_sell_price": me.min_sell_price,
            "max_buy_price": me.max_buy_price,
            "battery_reserve_pct": me.battery_reserve_pct,
        }
    )
    status = 200
    if request.method == "POST" and me is None and request.POST.get("action") != "enrol":
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("You do not trade in this market: join it with your home first.")
    if request.method == "POST" and me is not None:
        action = request.POST.get("action")
        if action == "order":
            order_form = OrderForm(request.POST, periods=periods)
            if order_form.is_valid():
                d = order_form.cleaned_data
                try:
                    services.order_place_many(
                        periods=d.get("periods") or 1,
                        participant=me,
                        actor=request.user,
                        side=d["side"],
                        quantity_wh=d["quantity_wh"],
                        price=d["price"],
                        period_start=parse_datetime(d["period_start"]),
                        source=Order.Source.BROWSER,
                        nominees=_nominees(market, d.get("nominees") or ""),
                        max_co2_g_per_kwh=d.get("max_co2_g_per_kwh"),
                        energy_source=d.get("energy_source") or "solar",
                        now=now,
                    )
                except DomainError as exc:
                    apply_domain_error(order_form, exc)
                else:
                    messages.success(request, "Order placed. You can change or cancel it until gate closure.")
                    return redirect("lem:my", slug=community.slug)
            status = 400
        elif action == "agent":
            agent_form = AgentForm(request.POST)
            if agent_form.is_valid():
                d = agent_form.cleaned_data
                try:
                    services.participant_update_agent(participant=me, actor=request.user, **d)
                except DomainError as exc:
                    apply_domain_error(agent_form, exc)
                else:
                    messages.success(request, "Your agent's limits are saved.")
                    return redirect("lem:my", slug=community.slug)
            status = 400
    elif request.method == "POST" and request.POST.get("action") == "enrol":
        site = Site.objects.filter(community=community, pk=request.POST.get("site"), occupants=request.user).first()
        if site is None:
            messages.error(request, "Choose one of your own homes.")
            status = 400
        else:
            try:
                services.participant_enrol(market=market, site=site, user=request.user, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
                status = 400
            else:
                messages.success(request, "You have joined the market. Your trading agent is on; set its limits below.")
                return redirect("lem:my", slug=community.slug)
    since = now - timedelta(hours=24)
    ctx = {
        "community": community,
        "market": market,
        "me": me,
        "order_form": order_form,
        "agent_form": agent_form,
        "my_sites": Site.objects.filter(community=community, occupants=request.user),
        "is_operator": Role.MARKET_OPERATOR in request.roles,
    }
    if me is not None:
        open_orders = [o for o in selectors.my_orders(me, now - timedelta(hours=24))]
        # one query for the runs of every listed period (not one per order)
        runs = {
            r.period_start: r
            for r in ClearingRun.objects.filter(market=market, period_start__in={o.period_start for o in open_orders})
        }
        for o in open_orders:
            o.market, o.participant = market, me  # already loaded: no query per order
            o.explanation = services.explain_order(o, runs=runs) if o.status != Order.Status.OPEN else ""
            o.editable = o.status == Order.Status.OPEN and now < services.gate_closure(market, o.period_start)
        trades = selectors.my_trades(me, since)
        balance = selectors.balance_of(me)
        ctx.update(
            orders=open_orders,
            trades=list(reversed(trades))[:50],
            chart=lem_charts.my_trades(me, trades) if trades else "",
            balance=balance,
            balance_abs=abs(balance),
            months=_months(now),
            next_period=selectors.next_open_period(market, now),
        )
    return render(request, "lem/my.html", ctx, status=status)


def _months(now: datetime) -> list[date]:
    d = timezone.localtime(now).date().replace(day=1)
    out = []
    for _ in range(3):
        out.append(d)
        d = (d - timedelta(days=1)).replace(day=1)
    return out


def _nominees(market, raw: str) -> list[int]:
    out = []
    for token in [t.strip() for t in raw.split(",") if t.strip()]:
        if token.isdigit():
            out.append(int(token))
            continue
        p = Participant.objects.filter(market=market, pseudonym__iexact=token).first()
        if p is None:
            raise DomainError(f"No market participant is called '{token}'.", field="nominees")
        out.append(p.pk)
    return out


@community_view()
def order_action(request: HttpRequest, community, order_id: int) -> HttpResponse:
    """POST: cancel or change one of my open orders."""
    market = _market(community)
    if request.method != "POST":
        return redirect("lem:my", slug=community.slug)
    order = Order.objects.filter(market=market, pk=order_id, participant__site__occupants=request.user).first()
    if order is None:
        raise Http404("No such order of yours.")
    try:
        if request.POST.get("action") == "cancel":
            services.order_cancel(order=order, actor=request.user)
            messages.success(request, "Order cancelled.")
        else:
            services.order_update(
                order=order,
                actor=request.user,
                quantity_wh=request.POST.get("quantity_wh"),
                price=request.POST.get("price"),
            )
            messages.success(request, "Order changed (it now counts as submitted now).")
    except DomainError as exc:
        messages.error(request, exc.message)
        return render(request, "lem/message.html", {"community": community, "text": exc.message}, status=400)
    return redirect("lem:my", slug=community.slug)


def _month(raw: str) -> date:
    try:
        y, m = raw.split("-")
        return date(int(y), int(m), 1)
    except (ValueError, TypeError):
        raise Http404("No such month.") from None


@community_view()
def statement(request: HttpRequest, community, month: str) -> HttpResponse:
    market = _market(community)
    me = _my_participant(request, market)
    if me is None:
        raise Http404("You do not trade in this market.")
    s = selectors.statement(me, _month(month))
    fmt = request.GET.get("format")
    if fmt == "csv":
        return _statement_csv(s, selectors.statement_rows(me, s.month))
    if fmt == "pdf":
        return _statement_pdf(s, community)
    start, end = services.month_bounds(market, s.month)
    unmatched = list(
        Order.objects.filter(participant=me, period_start__gte=start, period_start__lt=end, status=Order.Status.CLEARED)
        .filter(filled_wh__lt=models.F("quantity_wh"))
        .select_related("market", "participant__site__network_node")
        .order_by("-period_start")[:20]
    )
    for o in unmatched:
        o.explanation = services.explain_order(o)
    ctx = {"community": community, "market": market, "s": s, "me": me, "unmatched": unmatched}
    return render(request, "lem/statement.html", ctx)


def _statement_csv(s, rows) -> HttpResponse:
    resp = HttpResponse(content_type="text/csv")
    resp["Content-Disposition"] = f'attachment; filename="statement-{s.month:%Y-%m}.csv"'
    w = csvsafe.writer(resp)
    w.writerow(
        [
            "period_start_utc",
            "bought_local_wh",
            "sold_local_wh",
            "import_wh",
            "export_wh",
            "from_supplier_wh",
            "to_supplier_wh",
            "local_cost_gbp",
            "local_income_gbp",
            "supplier_cost_gbp",
            "supplier_income_gbp",
            "fees_gbp",
            "discount_gbp",
            "total_gbp",
            "supplier_only_gbp",
            "band_wh",
            "band_cost_gbp",
        ]
    )
    for r in rows:
        w.writerow(
            [
                r.period_start.isoformat(),
                r.bought_wh,
                r.sold_wh,
                r.import_wh,
                r.export_wh,
                r.from_supplier_wh,
                r.to_supplier_wh,
                r.local_cost,
                r.local_income,
                r.supplier_cost,
                r.supplier_income,
                r.fees,
                r.discount,
                r.total,
                r.supplier_only,
                r.band_wh,
                r.band_cost,
            ]
        )
    # the tolerance band in the statement's words (lem.statement_words), then the totals
    w.writerow(["tolerance_band", tolerance_note(s.tolerance_band_pct)])
    w.writerow(
        ["membership_fee", "", "", "", "", "", "", "", "", "", "", s.membership_fee, "", s.membership_fee, "", "", ""]
    )
    w.writerow(
        [
            "TOTAL",
            s.bought_local_wh,
            s.sold_local_wh,
            "",
            "",
            s.from_supplier_wh,
            s.to_supplier_wh,
            s.local_cost,
            s.local_income,
            s.supplier_cost,
            s.supplier_income,
            s.fees + s.membership_fee,
            s.discount,
            s.total,
            s.supplier_only,
            s.band_wh,
            s.band_cost,
        ]
    )
    return resp


def _statement_pdf(s, community) -> HttpResponse:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"Energy statement {s.month:%B %Y}")
    st = getSampleStyleSheet()
    from lem.statement_words import kwh, statement_rows, statement_summary

    words = statement_summary(s)
    rows = [["", "Energy", "Money"]]
    rows += [[r["label"], r["energy"], r["money"]] for r in statement_rows(s)]
    rows += [
        ["Total to pay", "", words["total"]],
        ["With the supplier alone", "", words["supplier_only"]],
        ["This month", "", words["headline"]],
    ]
    band = [["Of the supplier lines", "Energy", "Money"]] + [
        [r["label"], r["energy"], r["money"]] for r in words["band"]
    ]
    t = Table(rows, colWidths=[220, 120, 120])
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("LINEABOVE", (0, 8), (-1, 8), 0.5, colors.grey),
                ("FONTNAME", (0, 8), (-1, 8), "Helvetica-Bold"),
            ]
        )
    )
    src = [["Where your energy came from", "Energy", "g CO2/kWh"]] + [
        [x["source"], kwh(x["wh"]), str(x["co2"])] for x in s.sources
    ]
    t3 = Table(band, colWidths=[220, 120, 120])
    t3.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    t2 = Table(src, colWidths=[220, 120, 120])
    t2.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    story = [
        Paragraph(f"{community.name} energy market", st["Title"]),
        Paragraph(f"Statement for {s.participant.pseudonym}, {s.month:%B %Y}", st["Heading2"]),
        Paragraph(
            f"{s.periods_settled} half-hours settled against your meter; {s.periods_pending} waiting for meter data.",
            st["Normal"],
        ),
        Spacer(1, 12),
        t,
        Spacer(1, 12),
        Paragraph(words["tolerance_note"], st["Normal"]),
        Paragraph(words["fee_note"], st["Normal"]),
        *([Spacer(1, 6), t3] if words["band"] else []),
        Spacer(1, 18),
        t2,
        Spacer(1, 12),
        Paragraph(f"CO2 of the energy you bought: {s.co2_kg} kg.", st["Normal"]),
    ]
    doc.build(story)
    resp = HttpResponse(buf.getvalue(), content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="statement-{s.month:%Y-%m}.pdf"'
    return resp


# ------------------------------------------------------------------ rules (members' governance)


@community_view()
def rules(request: HttpRequest, community) -> HttpResponse:
    market = _market(community)
    form = RulesForm(initial=_rule_initial(selectors.rule_in_force_now(market)))
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "vote":
                rule = get_object_or_404(RuleVersion, pk=parse_int(request.POST.get("rule"), "rule"), market=market)
                vf = VoteForm(request.POST)
                if not vf.is_valid():
                    raise DomainError("Vote yes or no.")
                services.rule_vote(rule=rule, voter=request.user, choice=vf.cleaned_data["choice"])
                messages.success(request, "Your vote is recorded (you can change it until the vote closes).")
                return redirect("lem:rules", slug=community.slug)
            if action == "decide":
                if Role.MARKET_OPERATOR not in request.roles:
                    raise DomainError("Only the market operator closes a vote.", code="forbidden")
                rule = get_object_or_404(RuleVersion, pk=parse_int(request.POST.get("rule"), "rule"), market=market)
                rule = services.rule_decide(rule=rule, actor=request.user)
                messages.success(request, f"Vote closed: rules v{rule.number} {rule.get_status_display().lower()}.")
                return redirect("lem:rules", slug=community.slug)
            form = RulesForm(request.POST)
            if form.is_valid():
                d = dict(form.cleaned_data)
                eff = d.pop("effective_from")
                reason = d.pop("reason")
                if timezone.is_naive(eff):
                    eff = timezone.make_aware(eff, UTC)
                services.rule_propose(market=market, actor=request.user, values=d, effective_from=eff, reason=reason)
                messages.success(request, "Rule change proposed." if market.rules_need_vote else "New rules saved.")
                return redirect("lem:rules", slug=community.slug)
        except DomainError as exc:
            if exc.code == "forbidden":
                from django.core.exceptions import PermissionDenied

                raise PermissionDenied(exc.message) from None
            apply_domain_error(form, exc)
        status = 400
    ctx = {
        "community": community,
        "market": market,
        "form": form,
        "versions": list(RuleVersion.objects.filter(market=market).order_by("-number")[:20]),
        "proposals": _proposals_with_effect(market, selectors.rule_in_force_now(market)),
        "in_force": selectors.rule_in_force_now(market),
        "can_vote": Role.MEMBER in request.roles,
        "can_propose": Role.MEMBER in request.roles or Role.MARKET_OPERATOR in request.roles,
        "is_operator": Role.MARKET_OPERATOR in request.roles,
    }
    return render(request, "lem/rules.html", ctx, status=status)


def _proposals_with_effect(market, in_force: RuleVersion | None) -> list[RuleVersion]:
    """Each open vote with the change itself (old -> new per rule), when the
    vote closes, and the modelled effect on households when it is ready (issue 15, 17)."""
    from lem import value_selectors as vs
    from lem.models import ValueReport

    out = selectors.proposals(market)
    for r in out:
        r.diff = vs.rules_diff(r, in_force) if in_force is not None else []
        r.closes_at = services.vote_closes_at(r)
        report = vs.latest_report(market, kind=ValueReport.Kind.PROPOSAL, rule=r)
        r.effect = None
        if report is not None and "proposal" in report.result:
            r.effect = {
                "change": vs.proposal_changes(report),
                "now": report.result["summary"]["households"],
                "new": report.result["proposal"]["summary"]["households"],
            }
    return out


def _rule_initial(rule: RuleVersion | None) -> dict:
    if rule is None:
        return {}
    d = {f: getattr(rule, f) for f in services.RULE_FIELDS}
    d["effective_from"] = (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    return d


# ------------------------------------------------------------------ operator


@community_view(roles=OPERATOR_READERS)
def operator(request: HttpRequest, community) -> HttpResponse:
    market = _market(community)
    form = MarketForm(
        initial={
            "gate_closure_minutes": market.gate_closure_minutes,
            "price_floor": market.price_floor,
            "price_cap": market.price_cap,
            "rules_need_vote": market.rules_need_vote,
        }
    )
    status = 200
    if request.method == "POST":
        if Role.MARKET_OPERATOR not in request.roles:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Only the market operator changes the market.")
        action = request.POST.get("action")
        now = timezone.now()
        try:
            if action == "config":
                form = MarketForm(request.POST)
                if form.is_valid():
                    services.market_update(market=market, actor=request.user, **form.cleaned_data)
                    messages.success(request, "Market configuration saved.")
                    return redirect("lem:operator", slug=community.slug)
                status = 400
            elif action == "clear":
                n = services.market_clear_due(market=market, now=now)
                messages.success(request, f"Cleared {n} period(s) whose gate had closed.")
                return redirect("lem:operator", slug=community.slug)
            elif action == "settle":
                n = services.settlement_settle_due(market=market, now=now)
                messages.success(request, f"Settlement ran for {n} period(s).")
                return redirect("lem:operator", slug=community.slug)
            elif action == "settle_month":
                from django.db import transaction

                from lem import tasks

                month = timezone.localtime(now).strftime("%Y-%m")
                transaction.on_commit(lambda: tasks.settle_month.delay(market.pk, month))
                messages.success(request, f"Settling {month} in one batch: the progress bar below follows it.")
                return redirect("lem:operator", slug=community.slug)
            elif action == "fees":
                n = services.membership_fees_post(
                    market=market, month=timezone.localtime(now).date(), actor=request.user
                )
                messages.success(request, f"Membership fee charged to {n} member(s) this month.")
                return redirect("lem:operator", slug=community.slug)
            elif action == "payment":
                pf = PaymentForm(request.POST)
                if not pf.is_valid():
                    raise DomainError("Enter the amount and the bank reference.")
                p = get_object_or_404(Participant, pk=pf.cleaned_data["participant"], market=market)
                services.payment_record(
                    participant=p,
                    actor=request.user,
                    amount=pf.cleaned_data["amount"],
                    reference=pf.cleaned_data["reference"],
                )
                messages.success(request, f"Payment from {p.pseudonym} recorded.")
                return redirect("lem:operator", slug=community.slug)
            elif action == "credit":
                cf = CreditForm(request.POST)
                p = get_object_or_404(Participant, pk=request.POST.get("participant"), market=market)
                if not cf.is_valid():
                    raise DomainError("Enter a credit limit in pounds.")
                services.participant_set_credit(participant=p, actor=request.user, **cf.cleaned_data)
                messages.success(request, f"{p.pseudonym} updated.")
                return redirect("lem:operator", slug=community.slug)
            else:
                raise DomainError("Unknown action.")
        except DomainError as exc:
            apply_domain_error(form, exc)
            messages.error(request, exc.message)
            status = 400
    progress = selectors.month_progress(market)
    if request.htmx and request.GET.get("part") == "progress":
        return render(request, "lem/operator.html#progress", {"community": community, "progress": progress})
    ov = selectors.operator_overview(market)
    participants = list(Participant.objects.filter(market=market).select_related("site", "user").order_by("pseudonym"))
    owed = selectors.balances(market)
    for p in participants:
        p.owes = owed.get(p.pk, Decimal("0.00"))
    ctx = {
        "community": community,
        "market": market,
        "form": form,
        "ov": ov,
        "participants": participants,
        "progress": progress,
        "can_act": Role.MARKET_OPERATOR in request.roles,
    }
    return render(request, "lem/operator.html", ctx, status=status)
