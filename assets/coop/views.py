"""Thin HTML views for the co-op: resolve access, call a selector or a service, render.

Treasurer pages need the treasurer role; members see their own shares,
statements and votes; everyone in the community sees the societies, their
assets' generation, the money kept in the community and the funds' grants.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from community import uploads
from community.access import community_view, has_role
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Role
from community.params import query_int

from . import forms, selectors, services
from .models import (
    Application,
    BenefitFund,
    CoopAsset,
    Distribution,
    Meeting,
    Member,
    Resolution,
    ShareOffer,
    Society,
    WithdrawalRequest,
)

TREASURER = (Role.TREASURER,)
REGISTER_READERS = (Role.TREASURER, Role.AUDITOR)
GRANT_PANEL = (Role.TREASURER, Role.CONVENOR)


def _today() -> date:
    return timezone.localdate()


def _society(community, society_id: int) -> Society:
    return get_object_or_404(Society, community=community, pk=society_id)


def society_view(roles=None):
    """``community_view`` plus the society from the URL, passed as ``society``."""

    def decorate(view):
        @community_view(roles)
        @wraps(view)
        def wrapper(request, community, society_id, *args, **kwargs):
            return view(request, community, _society(community, society_id), *args, **kwargs)

        return wrapper

    return decorate


def _percent(fraction: Decimal) -> str:
    """0.100 → "10" (not "1E+1"), 0.0325 → "3.25": a rate as the treasurer types it."""
    return format((fraction * 100).normalize(), "f")


def _is_treasurer(request, community) -> bool:
    return has_role(request.user, community, Role.TREASURER)


def _csv(text: str, filename: str) -> HttpResponse:
    resp = HttpResponse(text, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def _submit(request: HttpRequest, form, call, success, to) -> HttpResponse | None:
    """Every co-op form view's POST in one place: on a POST whose form is valid run
    ``call()`` (one service call), flash ``success(result)`` and return ``to(result)``
    (a redirect). A DomainError goes back onto the form (inline, by field) and None
    is returned: the view renders the page again. A POST without a form (a button)
    passes ``form=None``: its DomainError is flashed and ``to(None)`` returned.
    Not a POST, or an invalid form: None."""
    if request.method != "POST" or (form is not None and not form.is_valid()):
        return None
    try:
        result = call()
    except DomainError as exc:
        if form is None:
            messages.error(request, exc.message)
            return to(None)
        apply_domain_error(form, exc)
        return None
    messages.success(request, success(result))
    return to(result)


def _render(request, template, context, form=None):
    status = 400 if request.method == "POST" and form is not None and form.errors else 200
    return render(request, template, context, status=status)


# --- overview -------------------------------------------------------------------


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    cards = []
    for society in selectors.societies(community).prefetch_related("assets"):
        energy = []
        for asset in society.assets.all():
            months = selectors.month_starts(_month_back(_today(), 11), 12)
            e = selectors.asset_energy(asset, months)
            energy.append(
                {
                    "asset": asset,
                    "figure": selectors.generation_figure(e),
                    "kwh": sum(x.generated_wh for x in e) // 1000,
                }
            )
        cards.append(
            {
                "society": society,
                "kept": selectors.kept_in_community(society),
                "energy": energy,
                "members": selectors.active_member_count(society),
                "me": selectors.member_for_user(society, request.user),
                "open_offers": society.offers.filter(status=ShareOffer.Status.OPEN),
            }
        )
    funds = [
        {"fund": f, "totals": selectors.fund_totals(f), "grants": f.grants.all()[:5]}
        for f in selectors.funds(community)
    ]
    return render(
        request,
        "coop/index.html",
        {
            "community": community,
            "cards": cards,
            "funds": funds,
            "is_treasurer": _is_treasurer(request, community),
            "can_add_fund": has_role(request.user, community, *GRANT_PANEL),
        },
    )


def _month_back(d: date, n: int) -> date:
    y, m = d.year, d.month - n
    while m <= 0:
        y, m = y - 1, m + 12
    return date(y, m, 1)


@community_view(TREASURER)
def society_create(request: HttpRequest, community) -> HttpResponse:
    form = forms.SocietyForm(request.POST or None)

    def create():
        data = dict(form.cleaned_data)
        return services.society_create(community=community, name=data.pop("name"), actor=request.user, **data)

    done = _submit(
        request,
        form,
        create,
        lambda society: f"{society.name} is registered. Open its first share offer next.",
        lambda society: redirect("coop:society", slug=community.slug, society_id=society.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {"community": community, "form": form, "title": "Register a society", "submit": "Register"},
        form,
    )


@society_view()
def society_detail(request: HttpRequest, community, society) -> HttpResponse:
    treasurer = _is_treasurer(request, community)
    board_form = forms.BoardForm()
    board_form.fields["member"].queryset = society.members.filter(status=Member.Status.ACTIVE)
    return render(
        request,
        "coop/society.html",
        {
            "community": community,
            "society": society,
            "is_treasurer": treasurer,
            "offers": society.offers.all(),
            "assets": society.assets.all(),
            "board": society.board.select_related("member"),
            "meetings": society.meetings.all()[:5],
            "capital": selectors.share_capital(society),
            "members": selectors.active_member_count(society),
            "me": selectors.member_for_user(society, request.user),
            "board_form": board_form,
            "distributions": society.distributions.all() if treasurer else [],
        },
    )


@society_view(TREASURER)
def society_rules(request: HttpRequest, community, society) -> HttpResponse:
    fields = services.society.RULE_FIELDS + services.society.BANK_FIELDS
    initial = {f: getattr(society, f) for f in fields}
    for f in ("target_interest_rate", "max_interest_rate", "quorum_fraction"):
        initial[f] = _percent(initial[f])
    initial.update(name=society.name, registration_number=society.registration_number)
    form = forms.SocietyForm(request.POST or None, initial=initial)
    done = _submit(
        request,
        form,
        lambda: services.society_update_rules(
            society=society, actor=request.user, **{f: form.cleaned_data[f] for f in fields}
        ),
        lambda _: "The rules are saved.",
        lambda _: redirect("coop:society", slug=community.slug, society_id=society.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": f"Rules of {society.name}",
            "submit": "Save rules",
        },
        form,
    )


@society_view(TREASURER)
def board_add(request: HttpRequest, community, society) -> HttpResponse:
    form = forms.BoardForm(request.POST or None)
    form.fields["member"].queryset = society.members.filter(status=Member.Status.ACTIVE)
    done = _submit(
        request,
        form,
        lambda: services.board_member_add(society=society, actor=request.user, **form.cleaned_data),
        lambda _: "Board member added.",
        lambda _: redirect("coop:society", slug=community.slug, society_id=society.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {"community": community, "society": society, "form": form, "title": "Add a board member", "submit": "Add"},
        form,
    )


# --- share offers -------------------------------------------------------------------


@society_view(TREASURER)
def offer_create(request: HttpRequest, community, society) -> HttpResponse:
    form = forms.OfferForm(request.POST or None, request.FILES or None)
    done = _submit(
        request,
        form,
        lambda: services.offer_create(society=society, actor=request.user, **form.cleaned_data),
        lambda offer: f"{offer.title} is open for applications.",
        lambda offer: redirect("coop:offer", slug=community.slug, society_id=society.pk, offer_id=offer.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": "New share offer",
            "submit": "Open the offer",
            "multipart": True,
        },
        form,
    )


def _offer(society, offer_id) -> ShareOffer:
    return get_object_or_404(ShareOffer, society=society, pk=offer_id)


@society_view()
def offer_detail(request: HttpRequest, community, society, offer_id: int) -> HttpResponse:
    offer = _offer(society, offer_id)
    treasurer = _is_treasurer(request, community)
    context = {
        "community": community,
        "society": society,
        "offer": offer,
        "is_treasurer": treasurer,
        "stats": selectors.offer_stats(offer),
        "figure": selectors.offer_progress_figure(offer),
    }
    if treasurer:
        context["applications"] = offer.applications.select_related("member").prefetch_related("payments")
        context["payment_form"] = forms.PaymentForm(initial={"received_on": _today()})
    else:
        mine = list(offer.applications.filter(user=request.user))
        for a in mine:
            a.offer = offer
            a.how_to_pay = selectors.how_to_pay(a)
        context["my_applications"] = mine
    return render(request, "coop/offer.html", context)


@society_view()
def offer_apply(request: HttpRequest, community, society, offer_id: int) -> HttpResponse:
    offer = _offer(society, offer_id)
    member = selectors.member_for_user(society, request.user)
    existing = member is not None and member.status == Member.Status.ACTIVE
    initial = {"full_name": request.user.get_full_name(), "email": request.user.email}
    form = forms.ApplicationForm(request.POST or None, existing_member=existing, initial=initial)
    done = _submit(
        request,
        form,
        lambda: services.application_submit(offer=offer, today=_today(), user=request.user, **form.cleaned_data),
        lambda app: f"Thank you. {selectors.how_to_pay(app)}",
        lambda app: redirect("coop:offer", slug=community.slug, society_id=society.pk, offer_id=offer.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/apply.html",
        {
            "community": community,
            "society": society,
            "offer": offer,
            "form": form,
            "member": member if existing else None,
        },
        form,
    )


@society_view(TREASURER)
def payment_record(request: HttpRequest, community, society, offer_id: int, application_id: int) -> HttpResponse:
    offer = _offer(society, offer_id)
    app = get_object_or_404(Application, offer=offer, pk=application_id)
    form = forms.PaymentForm(request.POST or None, initial={"received_on": _today()})
    done = _submit(
        request,
        form,
        lambda: services.payment_record(application=app, actor=request.user, **form.cleaned_data),
        lambda _: f"£{form.cleaned_data['amount']:,} recorded against {app.reference}.",
        lambda _: redirect("coop:offer", slug=community.slug, society_id=society.pk, offer_id=offer.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": f"Payment for {app.reference} ({app.full_name})",
            "submit": "Record payment",
        },
        form,
    )


@society_view(TREASURER)
def statement_import(request: HttpRequest, community, society, offer_id: int) -> HttpResponse:
    """Upload → preview (matched rows, bad rows by line) → confirm. Nothing is written before confirming."""
    offer = _offer(society, offer_id)
    form = forms.StatementForm(request.POST or None, request.FILES or None)
    preview = None
    stash = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("statement")
        try:
            if upload:
                text = upload.read().decode("utf-8-sig", errors="replace")
                stash = uploads.stash_text(text, kind="bank-statement")
            else:
                stash = form.cleaned_data.get("stash", "")
                text = uploads.stash_read(stash, kind="bank-statement") if stash else ""
            if not text.strip():
                raise DomainError("Choose the bank statement CSV file to import.", field="statement")
            if "confirm" not in request.POST:
                preview = services.statement_match(offer=offer, text=text)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:

            def import_statement():
                result = services.statement_import(offer=offer, text=text, actor=request.user)
                uploads.stash_drop(stash, kind="bank-statement")
                return result

            done = preview is None and _submit(
                request,
                form,
                import_statement,
                lambda result: (
                    f"Imported {len(result.matched)} payments (£{result.total:,}). "
                    f"{len(result.errors)} lines were not imported."
                ),
                lambda _: redirect("coop:offer", slug=community.slug, society_id=society.pk, offer_id=offer.pk),
            )
            if done:
                return done
    return _render(
        request,
        "coop/statement.html",
        {"community": community, "society": society, "offer": offer, "form": form, "preview": preview, "stash": stash},
        form,
    )


@society_view(TREASURER)
def offer_close(request: HttpRequest, community, society, offer_id: int) -> HttpResponse:
    """Preview the allotment, then close. Before the advertised closing date the page
    warns and the treasurer must tick "close early" (the service refuses otherwise)."""
    offer = _offer(society, offer_id)
    today = _today()
    back = redirect("coop:offer", slug=community.slug, society_id=society.pk, offer_id=offer.pk)
    if offer.status != ShareOffer.Status.OPEN:
        messages.info(request, "This offer is already closed.")
        return back
    form = forms.CloseOfferForm(request.POST if request.method == "POST" else None)
    done = _submit(
        request,
        form,
        lambda: services.offer_close(
            offer=offer, today=today, actor=request.user, early=form.cleaned_data["close_early"]
        ),
        lambda result: result.message,
        lambda _: back,
    )
    if done:
        return done
    result, apps = services.allotment_preview(offer)
    by_pk = {a.pk: a for a in apps}
    lines = [(by_pk[ln.key], ln) for ln in result.lines]
    return _render(
        request,
        "coop/offer_close.html",
        {
            "community": community,
            "society": society,
            "offer": offer,
            "result": result,
            "lines": lines,
            "form": form,
            "days_early": (offer.closes_on - today).days if today < offer.closes_on else 0,
            "unpaid": sum(1 for a in apps if a.paid < a.amount),
        },
        form,
    )


@society_view(TREASURER)
def refund_file(request: HttpRequest, community, society, offer_id: int) -> HttpResponse:
    offer = _offer(society, offer_id)
    return _csv(selectors.refund_file_csv(offer), f"refunds-{offer.code}.csv")


# --- register ------------------------------------------------------------------------


@society_view(REGISTER_READERS)
def register(request: HttpRequest, community, society) -> HttpResponse:
    rows = selectors.register_rows(society)
    return render(
        request,
        "coop/register.html",
        {
            "community": community,
            "society": society,
            "rows": rows,
            "capital": selectors.share_capital(society),
            "is_treasurer": _is_treasurer(request, community),
            "queued": WithdrawalRequest.objects.filter(society=society, status="queued").count(),
        },
    )


@society_view(REGISTER_READERS)
def register_csv(request: HttpRequest, community, society) -> HttpResponse:
    return _csv(selectors.register_csv(society), f"register-{society.pk}-{_today():%Y%m%d}.csv")


@society_view(REGISTER_READERS)
def annual_return(request: HttpRequest, community, society) -> HttpResponse:
    year = query_int(request.GET, "year", _today().year - 1, minimum=1990, maximum=2200)
    start, end = selectors.year_bounds(society, year)
    figures = services.annual_return(society=society, year_start=start, year_end=end - timedelta(days=1))
    return render(
        request,
        "coop/annual_return.html",
        {
            "community": community,
            "society": society,
            "year": year,
            "figures": figures,
            "years": range(year - 3, year + 2),
        },
    )


def _member(society, member_id) -> Member:
    return get_object_or_404(Member, society=society, pk=member_id)


@society_view(TREASURER)
def member_detail(request: HttpRequest, community, society, member_id: int) -> HttpResponse:
    member = _member(society, member_id)
    return render(
        request,
        "coop/member.html",
        {
            "community": community,
            "society": society,
            "member": member,
            "holding": services.holding_of(member),
            "transactions": member.transactions.all(),
            "withdrawals": member.withdrawals.all(),
            "lines": member.distribution_lines.select_related("distribution"),
            "transfer_form": forms.TransferForm(society=society, exclude=member, initial={"day": _today()}),
            "close_form": forms.CloseMemberForm(initial={"day": _today()}),
            "withdraw_form": forms.WithdrawForm(),
        },
    )


@society_view(TREASURER)
def member_transfer(request: HttpRequest, community, society, member_id: int) -> HttpResponse:
    member = _member(society, member_id)
    form = forms.TransferForm(request.POST or None, society=society, exclude=member, initial={"day": _today()})
    done = _submit(
        request,
        form,
        lambda: services.transfer_record(from_member=member, actor=request.user, **form.cleaned_data),
        lambda _: "Transfer recorded.",
        lambda _: redirect("coop:member", slug=community.slug, society_id=society.pk, member_id=member.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": f"Transfer shares from {member}",
            "submit": "Transfer",
        },
        form,
    )


@society_view(TREASURER)
def member_close(request: HttpRequest, community, society, member_id: int) -> HttpResponse:
    member = _member(society, member_id)
    form = forms.CloseMemberForm(request.POST or None, initial={"day": _today()})
    done = _submit(
        request,
        form,
        lambda: services.member_close(member=member, actor=request.user, **form.cleaned_data),
        lambda _: f"{member}'s shares are queued for repayment.",
        lambda _: redirect("coop:member", slug=community.slug, society_id=society.pk, member_id=member.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": f"Close the membership of {member}",
            "submit": "Close",
        },
        form,
    )


@society_view(TREASURER)
def member_withdraw(request: HttpRequest, community, society, member_id: int) -> HttpResponse:
    """The treasurer records a member's notice to withdraw (given by letter or email)."""
    member = _member(society, member_id)
    form = forms.WithdrawForm(request.POST or None)
    done = _submit(
        request,
        form,
        lambda: services.withdrawal_request(
            member=member, amount=form.cleaned_data["amount"], notice_date=_today(), actor=request.user
        ),
        lambda req: f"Notice to withdraw £{req.amount:,} queued for {member}.",
        lambda req: redirect("coop:member", slug=community.slug, society_id=society.pk, member_id=member.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": f"Notice to withdraw: {member}",
            "submit": "Queue the withdrawal",
        },
        form,
    )


@society_view(TREASURER)
def withdrawals(request: HttpRequest, community, society) -> HttpResponse:
    form = forms.BudgetForm(request.POST or request.GET or None)
    preview = None
    if form.is_bound and form.is_valid():
        done = _submit(
            request,
            form,
            lambda: services.withdrawals_pay(
                society=society, today=_today(), actor=request.user, budget=form.cleaned_data["budget"]
            ),
            lambda result: result.message,
            lambda _: redirect("coop:withdrawals", slug=community.slug, society_id=society.pk),
        )
        if done:
            return done
        if request.method != "POST":
            try:
                preview = services.withdrawal_queue_preview(
                    society=society, today=_today(), budget=form.cleaned_data["budget"]
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
    due = services.withdrawal_due_dates(society)
    queue = sorted(
        WithdrawalRequest.objects.filter(society=society).select_related("member"),
        key=lambda w: (w.status != WithdrawalRequest.Status.QUEUED, w.notice_date, w.pk),
    )
    for w in queue:
        w.due_on = due.get(w.pk)
    pay_ids = {d.key for d in preview.pay} if preview else set()
    return _render(
        request,
        "coop/withdrawals.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "queue": queue,
            "preview": preview,
            "pay_ids": pay_ids,
        },
        form,
    )


# --- a member's own view -----------------------------------------------------------------


@society_view()
def my_shares(request: HttpRequest, community, society) -> HttpResponse:
    member = selectors.member_for_user(society, request.user)
    if member is None:
        return render(
            request,
            "coop/not_member.html",
            {"community": community, "society": society, "offers": society.offers.filter(status="open")},
        )
    form = forms.ChoiceForm(
        request.POST or None,
        initial={
            "distribution_choice": member.distribution_choice,
            "sort_code": member.sort_code,
            "account_number": member.account_number,
        },
    )

    def save():
        data = {"distribution_choice": form.cleaned_data["distribution_choice"]}
        if form.cleaned_data["sort_code"] or form.cleaned_data["account_number"]:
            data.update(sort_code=form.cleaned_data["sort_code"], account_number=form.cleaned_data["account_number"])
        return services.member_update_details(member=member, actor=request.user, **data)

    done = _submit(
        request,
        form,
        save,
        lambda _: "Your choices are saved.",
        lambda _: redirect("coop:my_shares", slug=community.slug, society_id=society.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/my_shares.html",
        {
            "community": community,
            "society": society,
            "member": member,
            "holding": services.holding_of(member),
            "transactions": member.transactions.all(),
            "lines": member.distribution_lines.select_related("distribution"),
            "withdrawals": member.withdrawals.all(),
            "form": form,
            "withdraw_form": forms.WithdrawForm(),
            "votes": member.votes.select_related("resolution__meeting"),
        },
        form,
    )


@society_view()
def my_withdrawal(request: HttpRequest, community, society) -> HttpResponse:
    member = selectors.member_for_user(society, request.user)
    if member is None:
        raise Http404("You are not a member of this society.")
    form = forms.WithdrawForm(request.POST or None)
    done = _submit(
        request,
        form,
        lambda: services.withdrawal_request(
            member=member, amount=form.cleaned_data["amount"], notice_date=_today(), actor=request.user
        ),
        lambda req: f"Your notice to withdraw £{req.amount:,} is queued from {req.notice_date:%d %b %Y}.",
        lambda req: redirect("coop:my_shares", slug=community.slug, society_id=society.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": "Give notice to withdraw shares",
            "submit": "Give notice",
            "intro": f"The rules ask for {society.notice_period_days} days' notice; "
            "the board pays withdrawals in notice-date order when the "
            "society has the cash.",
        },
        form,
    )


# --- the asset's accounts ----------------------------------------------------------------


@society_view(TREASURER)
def asset_accounts(request: HttpRequest, community, society, asset_id: int) -> HttpResponse:
    asset = get_object_or_404(CoopAsset, society=society, pk=asset_id)
    year = query_int(request.GET, "year", _today().year - 1, minimum=1990, maximum=2200)
    start, end = selectors.year_bounds(society, year)
    form = forms.AccountEntryForm(request.POST or None, initial={"month": start})
    done = _submit(
        request,
        form,
        lambda: services.account_entry_add(asset=asset, actor=request.user, **form.cleaned_data),
        lambda _: "Entry added to the accounts.",
        lambda _: redirect(f"{request.path}?year={year}"),
    )
    if done:
        return done
    accounts = selectors.asset_accounts(asset, start, 12)
    totals = {
        k: sum((row.as_dict()[k] for row in accounts), Decimal("0.00"))
        for k in (
            "ppa_revenue",
            "host_revenue",
            "flex_revenue",
            "market_revenue",
            "revenue",
            "om_cost",
            "insurance_cost",
            "admin_cost",
            "other_costs",
            "loan_interest",
            "depreciation",
            "surplus",
            "cash_flow",
            "loan_principal",
        )
    }
    return _render(
        request,
        "coop/accounts.html",
        {
            "community": community,
            "society": society,
            "asset": asset,
            "year": year,
            "rows": [a.as_dict() for a in accounts],
            "totals": totals,
            "kwh": sum(a.exported_wh + a.onsite_wh for a in accounts) // 1000,
            "figure": selectors.accounts_figure(accounts),
            "funding": asset.funding.all(),
            "form": form,
            "entries": asset.entries.filter(month__gte=start, month__lt=end),
            "loans": [(f, services_loan_schedule(f)) for f in asset.funding.filter(kind="loan")],
        },
        form,
    )


def services_loan_schedule(funding):
    from .domain.accounts import Loan, loan_schedule
    from .domain.money import from_pennies

    sched = loan_schedule(
        Loan(funding.name, funding.amount, funding.annual_rate, funding.term_months, funding.first_payment)
    )
    by_year: dict[int, list[int]] = {}
    for p in sched:
        y = by_year.setdefault(p.month.year, [0, 0, 0])
        y[0] += p.interest
        y[1] += p.principal
        y[2] = p.balance
    return [(y, from_pennies(i), from_pennies(pr), from_pennies(b)) for y, (i, pr, b) in sorted(by_year.items())]


# --- distributions ------------------------------------------------------------------------


@society_view(TREASURER)
def distribution_new(request: HttpRequest, community, society) -> HttpResponse:
    """GET with figures → a preview (nothing written); POST → commit (all or nothing)."""
    last_year = _today().year - 1
    data = request.POST if request.method == "POST" else (request.GET if "year" in request.GET else None)
    form = forms.DistributionForm(
        data, initial={"year": last_year, "interest_rate": _percent(society.target_interest_rate)}
    )
    preview = None
    surplus = None
    if form.is_bound and form.is_valid():
        start, end = selectors.year_bounds(society, form.cleaned_data["year"])
        figures = {
            "interest_rate": form.cleaned_data["interest_rate"],
            "fund_contribution": form.cleaned_data["fund_contribution"],
            "dividend_total": form.cleaned_data["dividend_total"] or Decimal(0),
            "dividend_basis": form.cleaned_data.get("dividend_basis") or "holding",
            "patronage": form.cleaned_data.get("patronage") or None,
        }
        done = _submit(
            request,
            form,
            lambda: services.distribution_commit(
                society=society, start=start, end=end, today=_today(), actor=request.user, **figures
            ),
            lambda dist: (
                f"Distribution committed: £{dist.interest_total:,} interest to "
                f"{dist.lines.count()} members. Download the payment file for the bank."
            ),
            lambda dist: redirect(
                "coop:distribution", slug=community.slug, society_id=society.pk, distribution_id=dist.pk
            ),
        )
        if done:
            return done
        try:
            if request.method != "POST":
                preview = selectors.distribution_preview(society=society, start=start, end=end, **figures)
        except DomainError as exc:
            apply_domain_error(form, exc)
        if preview is None:
            surplus = selectors.society_surplus(society, start, end)
    else:
        start, end = selectors.year_bounds(society, last_year)
        surplus = selectors.society_surplus(society, start, end)
    return _render(
        request,
        "coop/distribution_new.html#distribution" if request.htmx else "coop/distribution_new.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "preview": preview,
            "surplus": preview.proposal.surplus if preview else surplus,
            "period": (start, end - timedelta(days=1)),
            "done": society.distributions.all(),
        },
        form,
    )


def _distribution(society, distribution_id) -> Distribution:
    return get_object_or_404(Distribution, society=society, pk=distribution_id)


@society_view(TREASURER)
def distribution_detail(request: HttpRequest, community, society, distribution_id: int) -> HttpResponse:
    dist = _distribution(society, distribution_id)
    lines = dist.lines.select_related("member")
    missing = [ln.member for ln in lines if ln.cash > 0 and not (ln.member.sort_code and ln.member.account_number)]
    return render(
        request,
        "coop/distribution.html",
        {
            "community": community,
            "society": society,
            "dist": dist,
            "lines": lines,
            "missing": missing,
            "figures": selectors.distribution_figures(dist),
        },
    )


@society_view(TREASURER)
def distribution_payments(request: HttpRequest, community, society, distribution_id: int) -> HttpResponse:
    dist = _distribution(society, distribution_id)
    return _csv(selectors.payment_file_csv(dist), f"interest-{dist.period_start:%Y}-payments.csv")


@society_view(TREASURER)
def distribution_paid(request: HttpRequest, community, society, distribution_id: int) -> HttpResponse:
    dist = _distribution(society, distribution_id)
    back = redirect("coop:distribution", slug=community.slug, society_id=society.pk, distribution_id=dist.pk)
    done = _submit(
        request,
        None,
        lambda: services.distribution_mark_paid(distribution=dist, paid_on=_today(), actor=request.user),
        lambda _: "The bank payments are recorded.",
        lambda _: back,
    )
    return done or back


@society_view()
def statement(request: HttpRequest, community, society, distribution_id: int, member_id: int) -> HttpResponse:
    dist = _distribution(society, distribution_id)
    member = _member(society, member_id)
    if not _is_treasurer(request, community) and member.user_id != request.user.pk:
        raise PermissionDenied("Only the member and the treasurer can see this statement.")
    line = get_object_or_404(dist.lines, member=member)
    average_holding = (Decimal(line.penny_days) / 100 / (dist.period_end - dist.period_start).days).quantize(
        Decimal("0.01")
    )
    if request.GET.get("format") == "pdf":
        from .pdf import member_statement_pdf

        pdf = member_statement_pdf(
            society=society,
            dist=dist,
            member=member,
            line=line,
            average_holding=average_holding,
            holding_now=services.holding_of(member),
        )
        resp = HttpResponse(pdf, content_type="application/pdf")
        resp["Content-Disposition"] = f'inline; filename="statement-{dist.period_start:%Y}-{member.number}.pdf"'
        return resp
    return render(
        request,
        "coop/statement_member.html",
        {
            "community": community,
            "society": society,
            "dist": dist,
            "member": member,
            "line": line,
            "average_holding": (Decimal(line.penny_days) / 100 / (dist.period_end - dist.period_start).days).quantize(
                Decimal("0.01")
            ),
            "holding_now": services.holding_of(member),
        },
    )


# --- governance ------------------------------------------------------------------------------


@society_view()
def meetings(request: HttpRequest, community, society) -> HttpResponse:
    return render(
        request,
        "coop/meetings.html",
        {
            "community": community,
            "society": society,
            "meetings": society.meetings.all(),
            "is_treasurer": _is_treasurer(request, community),
            "board": society.board.select_related("member"),
        },
    )


@society_view(TREASURER)
def meeting_create(request: HttpRequest, community, society) -> HttpResponse:
    form = forms.MeetingForm(request.POST or None)

    def call():
        d = form.cleaned_data
        return services.meeting_create(
            society=society,
            kind=d["kind"],
            title=d["title"],
            held_at=d["held_at"],
            place=d["place"],
            notice_given_on=d["notice_given_on"],
            vote_opens=d["vote_opens"],
            vote_closes=d["vote_closes"],
            resolutions=d["resolutions"],
            actor=request.user,
        )

    done = _submit(
        request,
        form,
        call,
        lambda meeting: f"{meeting.title} is called; quorum {meeting.quorum} members.",
        lambda meeting: redirect("coop:meeting", slug=community.slug, society_id=society.pk, meeting_id=meeting.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "society": society,
            "form": form,
            "title": "Call a general meeting",
            "submit": "Give notice",
        },
        form,
    )


@society_view()
def meeting_detail(request: HttpRequest, community, society, meeting_id: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting, society=society, pk=meeting_id)
    member = selectors.member_for_user(society, request.user)
    treasurer = _is_treasurer(request, community)
    error = None
    if request.method == "POST":
        resolution = get_object_or_404(Resolution, meeting=meeting, pk=request.POST.get("resolution") or 0)

        def cast():
            if "member" in request.POST:  # a vote entered for an in-person/proxy voter
                if not treasurer:
                    raise PermissionDenied("Only the treasurer/secretary enters votes for others.")
                voter = _member(society, request.POST.get("member") or 0)
                channel = request.POST.get("channel", "in_person")
                if channel not in ("in_person", "proxy"):
                    raise DomainError("Entered votes are in person or by proxy.")
            else:
                if member is None:
                    raise DomainError("Only members of the society may vote.")
                voter, channel = member, "online"
            return services.vote_cast(
                resolution=resolution,
                member=voter,
                choice=request.POST.get("choice", ""),
                now=timezone.now(),
                channel=channel,
                actor=request.user,
            )

        ballot = forms.BallotForm(request.POST)
        done = _submit(
            request,
            ballot,
            cast,
            lambda _: f"Vote recorded on resolution {resolution.number}.",
            lambda _: redirect("coop:meeting", slug=community.slug, society_id=society.pk, meeting_id=meeting.pk),
        )
        if done:
            return done
        error = " ".join(ballot.non_field_errors())
    enter_form = None
    if treasurer:
        enter_form = forms.EnterVoteForm()
        enter_form.fields["resolution"].queryset = meeting.resolutions.all()
        enter_form.fields["member"].queryset = society.members.filter(status=Member.Status.ACTIVE)
    return render(
        request,
        "coop/meeting.html",
        {
            "community": community,
            "society": society,
            "meeting": meeting,
            "member": member,
            "error": error,
            "results": selectors.resolution_results(meeting),
            "my_votes": selectors.member_votes(meeting, member),
            "open": selectors.voting_open(meeting),
            "enter_form": enter_form,
            "is_treasurer": treasurer,
        },
        status=400 if error else 200,
    )


# --- benefit funds -------------------------------------------------------------------------------


@community_view(GRANT_PANEL)
def fund_create(request: HttpRequest, community) -> HttpResponse:
    """Link a company-owned asset to a community benefit fund (seed 002 4.2.3)."""
    form = forms.CorporateFundForm(request.POST or None)
    done = _submit(
        request,
        form,
        lambda: services.corporate_fund_create(
            community=community,
            actor=request.user,
            **{**form.cleaned_data, "profit_share": form.cleaned_data.get("profit_share") or Decimal(0)},
        ),
        lambda fund: f"{fund.name} is set up; record the company's payments on its page.",
        lambda fund: redirect("coop:fund", slug=community.slug, fund_id=fund.pk),
    )
    if done:
        return done
    return _render(
        request,
        "coop/form.html",
        {
            "community": community,
            "form": form,
            "title": "A corporate asset's community benefit fund",
            "submit": "Set up the fund",
            "intro": "The company pays in a sum per MW installed each year (UK "
            "onshore wind commonly pays £5,000/MW) or a share of the "
            "asset's profit; a community panel grants it to local "
            "projects, and every payment and grant is public.",
        },
        form,
    )


@community_view()
def fund_detail(request: HttpRequest, community, fund_id: int) -> HttpResponse:
    fund = get_object_or_404(BenefitFund, community=community, pk=fund_id)
    panel = has_role(request.user, community, *GRANT_PANEL)
    treasurer = _is_treasurer(request, community)
    pay_form = forms.FundPaymentForm(request.POST if "pay" in request.POST else None, initial={"received_on": _today()})
    grant_form = forms.GrantForm(request.POST if "grant" in request.POST else None, initial={"decided_on": _today()})
    back = redirect("coop:fund", slug=community.slug, fund_id=fund.pk)
    if request.method == "POST":
        done = None
        if "pay" in request.POST:
            if not treasurer:
                raise PermissionDenied("Only the treasurer records payments into the fund.")
            done = _submit(
                request,
                pay_form,
                lambda: services.fund_payment_record(fund=fund, actor=request.user, **pay_form.cleaned_data),
                lambda _: "Payment recorded.",
                lambda _: back,
            )
        elif "grant" in request.POST:
            if not panel:
                raise PermissionDenied("Only the grant panel (treasurer, convenor) awards grants.")
            done = _submit(
                request,
                grant_form,
                lambda: services.fund_grant_award(fund=fund, actor=request.user, **grant_form.cleaned_data),
                lambda _: "Grant awarded.",
                lambda _: back,
            )
        else:
            apply_domain_error(pay_form, DomainError("Nothing to do."))
            if not treasurer:
                messages.error(request, "Nothing to do.")  # no form on this person's page to show it on
        if done:
            return done
    due = None
    if fund.kind == BenefitFund.Kind.CORPORATE and fund.pounds_per_mw_year:
        y = _today().year
        due = services.contribution_due(fund, date(y, 1, 1), date(y + 1, 1, 1))
    bad = request.method == "POST"
    return render(
        request,
        "coop/fund.html",
        {
            "community": community,
            "fund": fund,
            "totals": selectors.fund_totals(fund),
            "payments": fund.payments.all(),
            "grants": fund.grants.all(),
            "pay_form": pay_form if treasurer else None,
            "grant_form": grant_form if panel else None,
            "due": due,
        },
        status=400 if bad else 200,
    )
