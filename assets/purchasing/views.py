"""Thin HTML views for the group buy: resolve access, call a selector or a service, render.

Everyone in the community sees the campaigns and the dashboard; households
(members) register and decide on their own offers; installers (suppliers)
apply, bid and record their jobs; the convenor runs the campaign.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from community.access import OPERATOR_ROLES, community_view, has_role
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Role, Site

from . import charts, forms, selectors, services
from .models import Campaign, Complaint, Deposit, Installer, Offer, Package

CONVENOR = (Role.CONVENOR,)
HOUSEHOLD = (Role.MEMBER,)
INSTALLER = (Role.SUPPLIER,)
JOB_VIEWERS = (Role.SUPPLIER, Role.CONVENOR)
MONEY = (Role.CONVENOR, Role.TREASURER)


def _campaign(community, campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign, community=community, pk=campaign_id)


def campaign_view(roles=None):
    def decorate(view):
        @community_view(roles)
        @wraps(view)
        def wrapper(request, community, campaign_id, *args, **kwargs):
            return view(request, community, _campaign(community, campaign_id), *args, **kwargs)

        return wrapper

    return decorate


def _status(request, form) -> int:
    return 400 if request.method == "POST" and form.errors else 200


def _act(request, fn, to: str, ok: str | None = None):
    """Run a POST-only action; a refused one shows its message (nothing changed)."""
    try:
        result = fn()
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(to), None
    if ok:
        messages.success(request, ok)
    return redirect(to), result


# --- overview ------------------------------------------------------------------


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    cards = []
    for c in selectors.campaigns(community):
        stats = selectors.campaign_stats(c)
        cards.append({"campaign": c, "stats": stats})
    return render(
        request,
        "purchasing/index.html",
        {
            "community": community,
            "cards": cards,
            "is_convenor": has_role(request.user, community, Role.CONVENOR),
            "is_supplier": has_role(request.user, community, Role.SUPPLIER),
            "installer": selectors.installer_for(request.user, community),
        },
    )


@community_view(CONVENOR)
def campaign_create(request, community):
    now = timezone.localtime()
    form = forms.CampaignForm(
        request.POST or None,
        initial={
            "registration_closes": (now + timedelta(days=28)).strftime("%Y-%m-%dT18:00"),
            "bid_deadline": (now + timedelta(days=35)).strftime("%Y-%m-%dT12:00"),
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        finance = []
        if d["finance_partner"]:
            finance.append(
                {
                    "partner": d["finance_partner"],
                    "apr_pct": float(d["finance_apr_pct"] or 0),
                    "years": d["finance_years"] or 10,
                }
            )
        try:
            c = services.campaign_create(
                community=community,
                name=d["name"],
                description=d["description"],
                registration_closes=d["registration_closes"],
                bid_deadline=d["bid_deadline"],
                decision_days=d["decision_days"],
                install_weeks=d["install_weeks"],
                deposit_gbp=d["deposit_gbp"],
                convenor_fee_gbp=d["convenor_fee_gbp"],
                price_weight=d["price_weight"],
                quality_weight=d["quality_weight"],
                finance_options=finance,
                actor=request.user,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "Campaign opened. Add its technology packages next.")
            return redirect("purchasing:campaign", community.slug, c.pk)
    return render(
        request,
        "purchasing/form.html",
        {"community": community, "form": form, "title": "New group-buy campaign", "submit": "Open the campaign"},
        status=_status(request, form),
    )


@campaign_view()
def campaign_detail(request, community, campaign):
    stats = selectors.campaign_stats(campaign)
    is_convenor = has_role(request.user, community, Role.CONVENOR)
    installer = selectors.installer_for(request.user, community)
    now = timezone.now()
    ctx = {
        "community": community,
        "campaign": campaign,
        "packages": campaign.packages.select_related("winner", "reserve"),
        "stats": stats,
        "is_convenor": is_convenor,
        "is_household": has_role(request.user, community, Role.MEMBER),
        "installer": installer,
        "mine": selectors.my_registration(campaign, request.user),
        "bidding_open": campaign.status == Campaign.Status.OPEN and now < campaign.bid_deadline,
        "registration_open": campaign.status == Campaign.Status.OPEN and now < campaign.registration_closes,
        "sealed": now < campaign.bid_deadline,
        "my_bids": {},
    }
    if installer:
        ctx["my_bids"] = {b.package_id: b for b in installer.bids.filter(package__campaign=campaign)}
    if stats.offers:
        rows = selectors.package_savings(campaign)
        progress = selectors.installer_progress(campaign)
        ctx.update(
            funnel=charts.funnel(stats),
            savings_rows=rows,
            savings_chart=charts.savings(rows) if rows else "",
            progress=progress,
            progress_chart=charts.installer_progress(progress) if progress else "",
        )
        points = selectors.installed_over_time(campaign)
        if points:
            ctx["installed_chart"] = charts.installed_kw(points)
    return render(request, "purchasing/campaign.html", ctx)


@campaign_view(CONVENOR)
def package_create(request, community, campaign):
    form = forms.PackageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.package_add(
                campaign=campaign,
                kind=d["kind"],
                name=d["name"],
                spec=d["spec"],
                min_size=d["min_size"],
                max_size=d["max_size"],
                market_price_per_unit_gbp=d["market_price_per_unit_gbp"],
                grant_gbp=d["grant_gbp"] or 0,
                min_roof_area_m2=d["min_roof_area_m2"] or 0,
                min_fuse_a=d["min_fuse_a"] or 0,
                max_shading=d["max_shading"],
                timeline=d["timeline"],
                actor=request.user,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, f"Package {d['name']} added.")
            return redirect("purchasing:campaign", community.slug, campaign.pk)
    return render(
        request,
        "purchasing/form.html",
        {
            "community": community,
            "campaign": campaign,
            "form": form,
            "title": f"Add a package to {campaign.name}",
            "submit": "Add the package",
        },
        status=_status(request, form),
    )


# --- households -----------------------------------------------------------------


def _home_form(request, community, campaign, data=None):
    sites = Site.objects.filter(community=community, occupants=request.user)
    initial = {}
    first = sites.first()
    if first is not None:
        initial = {"site": first.pk, "latitude": first.latitude, "longitude": first.longitude}
    return forms.HomeForm(data, campaign=campaign, sites=sites, initial=initial), first


@campaign_view(HOUSEHOLD)
def register(request, community, campaign):
    if selectors.my_registration(campaign, request.user):
        return redirect("purchasing:mine", community.slug, campaign.pk)
    form, site = _home_form(request, community, campaign, request.POST or None)
    estimates = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.registration_submit(
                campaign=campaign,
                user=request.user,
                site=d["site"],
                packages=list(d["packages"]),
                home=form.home(),
                actor=request.user,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "You are registered. Your personal offer follows the installers' auction.")
            return redirect("purchasing:mine", community.slug, campaign.pk)
    meter_use = services.campaigns.meter_annual_use_kwh(site) if site is not None else None
    return render(
        request,
        "purchasing/register.html",
        {"community": community, "campaign": campaign, "form": form, "estimates": estimates, "meter_use": meter_use},
        status=_status(request, form),
    )


@campaign_view(HOUSEHOLD)
def estimate(request, community, campaign):
    """The live estimate (htmx, as the household types): size, yield, savings, payback per package."""
    form, site = _home_form(request, community, campaign, request.GET)
    estimates, error = None, ""
    form.is_valid()
    needed = ("latitude", "longitude", "roof_area_m2", "azimuth_deg", "tilt_deg", "fuse_a", "shading")
    if all(k in getattr(form, "cleaned_data", {}) for k in needed) and form.cleaned_data.get("packages"):
        home = form.home()
        chosen_site = form.cleaned_data.get("site")
        if home["annual_use_kwh"] in (None, ""):
            home["annual_use_kwh"] = (
                services.campaigns.meter_annual_use_kwh(chosen_site) if chosen_site else None
            ) or 2700
        try:
            estimates = services.registration_estimate(
                campaign=campaign, packages=list(form.cleaned_data["packages"]), home=home
            )
        except DomainError as exc:
            error = exc.message
    else:
        error = "Choose a package and fill in the roof to see your estimate."
    return render(
        request, "purchasing/partials/estimate.html", {"estimates": estimates, "error": error, "campaign": campaign}
    )


@campaign_view(HOUSEHOLD)
def mine(request, community, campaign):
    reg = selectors.my_registration(campaign, request.user)
    if reg is None:
        return redirect("purchasing:register", community.slug, campaign.pk)
    offers = list(selectors.my_offers(reg))
    return render(
        request,
        "purchasing/mine.html",
        {
            "community": community,
            "campaign": campaign,
            "reg": reg,
            "offers": offers,
            "complaint_form": forms.ComplaintForm(),
            "now": timezone.now(),
        },
    )


def _my_offer(request, campaign, offer_id) -> Offer:
    offer = get_object_or_404(
        Offer.objects.select_related("registration"), pk=offer_id, registration__campaign=campaign
    )
    if offer.registration.user_id != request.user.pk:
        raise PermissionDenied("Only the household that registered can decide on this offer.")
    return offer


@require_POST
@campaign_view(HOUSEHOLD)
def offer_accept(request, community, campaign, offer_id):
    offer = _my_offer(request, campaign, offer_id)
    resp, _ = _act(
        request,
        lambda: services.offer_accept(offer=offer, user=request.user, actor=request.user),
        reverse("purchasing:mine", args=[community.slug, campaign.pk]),
        f"Accepted. Your £{campaign.deposit_gbp:,.2f} deposit is held in escrow until installation (refundable).",
    )
    return resp


@require_POST
@campaign_view(HOUSEHOLD)
def offer_decline(request, community, campaign, offer_id):
    offer = _my_offer(request, campaign, offer_id)
    resp, _ = _act(
        request,
        lambda: services.offer_decline(offer=offer, user=request.user, actor=request.user),
        reverse("purchasing:mine", args=[community.slug, campaign.pk]),
        "Offer declined; any deposit is refunded in full.",
    )
    return resp


@require_POST
@campaign_view(HOUSEHOLD)
def complaint_create(request, community, campaign, offer_id):
    offer = _my_offer(request, campaign, offer_id)
    form = forms.ComplaintForm(request.POST)
    to = reverse("purchasing:mine", args=[community.slug, campaign.pk])
    if not form.is_valid():
        messages.error(request, "Give the complaint a subject and say what went wrong.")
        return redirect(to)
    resp, _ = _act(
        request,
        lambda: services.complaint_raise(offer=offer, user=request.user, actor=request.user, **form.cleaned_data),
        to,
        "Complaint logged; the convenor will follow it up.",
    )
    return resp


# --- installers -----------------------------------------------------------------


@community_view(JOB_VIEWERS)
def installers(request, community):
    is_convenor = has_role(request.user, community, Role.CONVENOR)
    rows = selectors.installer_records(community) if is_convenor else []
    return render(
        request,
        "purchasing/installers.html",
        {
            "community": community,
            "rows": rows,
            "is_convenor": is_convenor,
            "me": selectors.installer_for(request.user, community),
            "fail_form": forms.FailForm(),
        },
    )


@community_view(INSTALLER)
def installer_apply(request, community):
    me = selectors.installer_for(request.user, community)
    initial = {}
    if me:
        initial = {f: getattr(me, f) for f in forms.InstallerForm.base_fields}
    form = forms.InstallerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.installer_apply(community=community, user=request.user, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                "Application sent. The convenor checks certification, insurance and finances before you can bid.",
            )
            return redirect("purchasing:installers", community.slug)
    return render(
        request,
        "purchasing/form.html",
        {
            "community": community,
            "form": form,
            "title": "Apply as an installer",
            "submit": "Apply",
            "intro": "Certification (MCS), £2m+ public liability insurance and a financial health score of 40+ are checked before you may bid.",
        },
        status=_status(request, form),
    )


@require_POST
@community_view(CONVENOR)
def installer_review(request, community, installer_id):
    inst = get_object_or_404(Installer, community=community, pk=installer_id)
    approve = request.POST.get("decision") == "qualify"
    resp, _ = _act(
        request,
        lambda: services.installer_review(
            installer=inst, approve=approve, reason=request.POST.get("reason", ""), actor=request.user
        ),
        reverse("purchasing:installers", args=[community.slug]),
        f"{inst.company} {'qualified' if approve else 'rejected'}.",
    )
    return resp


@require_POST
@community_view(CONVENOR)
def installer_fail(request, community, installer_id):
    inst = get_object_or_404(Installer, community=community, pk=installer_id)
    form = forms.FailForm(request.POST)
    reason = form.data.get("reason", "")
    resp, result = _act(
        request,
        lambda: services.installer_fail(installer=inst, reason=reason, actor=request.user),
        reverse("purchasing:installers", args=[community.slug]),
    )
    if result is not None:
        messages.success(
            request,
            f"{inst.company} suspended. {result['moved']} offers moved to the reserve installer; {result['repriced']} households asked to accept a new price. Every deposit stays in escrow.",
        )
    return resp


@campaign_view(INSTALLER)
def bid(request, community, campaign, package_id):
    package = get_object_or_404(Package, campaign=campaign, pk=package_id)
    me = selectors.installer_for(request.user, community)
    mine = selectors.bids_visible(package, installer=me).filter(installer=me).first() if me else None
    initial = {}
    if mine:
        for i, t in enumerate(mine.tiers, start=1):
            initial[f"up_to_{i}"], initial[f"price_{i}"] = t["up_to"], t["price_per_unit"]
    form = forms.BidForm(request.POST or None, package=package, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if me is None:
                raise DomainError(
                    "Apply as an installer first: bids are accepted only after qualification.", field=None
                )
            services.bid_submit(package=package, installer=me, tiers=form.tiers(), actor=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request, "Sealed bid received. It opens after the deadline; you may replace it until then."
            )
            return redirect("purchasing:campaign", community.slug, campaign.pk)
    return render(
        request,
        "purchasing/bid.html",
        {"community": community, "campaign": campaign, "package": package, "form": form, "me": me, "mine": mine},
        status=_status(request, form),
    )


@campaign_view((Role.CONVENOR, Role.AUDITOR))
def evaluation(request, community, campaign):
    sealed = timezone.now() < campaign.bid_deadline
    packages = list(campaign.packages.select_related("winner", "reserve"))
    for p in packages:
        p.bid_count = p.bids.count()  # how many, never whose or at what price, while sealed
    return render(
        request,
        "purchasing/evaluation.html",
        {
            "community": community,
            "campaign": campaign,
            "packages": packages,
            "sealed": sealed,
            "is_convenor": has_role(request.user, community, Role.CONVENOR),
        },
    )


@require_POST
@campaign_view(CONVENOR)
def evaluate(request, community, campaign):
    resp, _ = _act(
        request,
        lambda: services.auction_evaluate(campaign=campaign, actor=request.user),
        reverse("purchasing:evaluation", args=[community.slug, campaign.pk]),
        "Bids opened and evaluated: a winner and a reserve per package.",
    )
    return resp


@require_POST
@campaign_view(CONVENOR)
def offers_issue(request, community, campaign):
    resp, n = _act(
        request,
        lambda: services.offers_issue(campaign=campaign, actor=request.user),
        reverse("purchasing:campaign", args=[community.slug, campaign.pk]),
    )
    if n is not None:
        messages.success(request, f"{n} personal offers sent; households have {campaign.decision_days} days to decide.")
    return resp


# --- jobs (installer) -----------------------------------------------------------------


@community_view(JOB_VIEWERS)
def jobs(request, community):
    operator = bool(set(request.roles) & OPERATOR_ROLES)
    return render(
        request,
        "purchasing/jobs.html",
        {"community": community, "jobs": selectors.jobs_for(community, request.user, operator=operator)},
    )


def _job(request, community, offer_id) -> Offer:
    offer = get_object_or_404(
        Offer.objects.select_related("registration__campaign", "installer", "package", "registration__user"),
        pk=offer_id,
        registration__campaign__community=community,
    )
    if offer.installer.user_id != request.user.pk and not has_role(request.user, community, Role.CONVENOR):
        raise PermissionDenied("Only the installer of this job and the convenor can see it.")
    return offer


@community_view(JOB_VIEWERS)
def job(request, community, offer_id):
    offer = _job(request, community, offer_id)
    inst = getattr(offer, "installation", None)
    return render(
        request,
        "purchasing/job.html",
        {
            "community": community,
            "offer": offer,
            "installation": inst,
            "is_installer": offer.installer.user_id == request.user.pk,
            "survey_form": forms.SurveyForm(),
            "milestone_form": forms.MilestoneForm(),
            "document_form": forms.DocumentForm(),
            "milestones": services.installations.MILESTONES,
            "refund_form": forms.RefundForm(),
            "deposit": Deposit.objects.filter(offer=offer).first(),
            "can_refund": has_role(request.user, community, *MONEY),
        },
    )


def _job_post(request, community, offer_id, fn, ok):
    offer = _job(request, community, offer_id)
    to = reverse("purchasing:job", args=[community.slug, offer.pk])
    resp, result = _act(request, lambda: fn(offer), to, ok)
    return resp


@require_POST
@community_view(INSTALLER)
def job_survey(request, community, offer_id):
    f = forms.SurveyForm(request.POST)
    f.is_valid()
    d = getattr(f, "cleaned_data", {})

    def go(o):
        if o.installer.user_id != request.user.pk:
            raise DomainError("Only the installer records the survey.", field="outcome")
        return services.survey_record(
            offer=o,
            outcome=d.get("outcome", ""),
            new_price_gbp=d.get("new_price_gbp"),
            reason=d.get("reason", ""),
            actor=request.user,
        )

    return _job_post(request, community, offer_id, go, "Survey recorded.")


def _installation(offer):
    inst = getattr(offer, "installation", None)
    if inst is None:
        raise DomainError("The survey has not confirmed this job yet: there is no installation.", field="installation")
    return inst


@require_POST
@community_view(INSTALLER)
def job_milestone(request, community, offer_id):
    return _job_post(
        request,
        community,
        offer_id,
        lambda o: services.milestone_record(
            installation=_installation(o),
            name=request.POST.get("name", ""),
            note=request.POST.get("note", ""),
            actor=request.user,
        ),
        "Milestone recorded.",
    )


@require_POST
@community_view(INSTALLER)
def job_document(request, community, offer_id):
    return _job_post(
        request,
        community,
        offer_id,
        lambda o: services.document_upload(
            installation=_installation(o),
            kind=request.POST.get("kind", ""),
            upload=request.FILES.get("file"),
            actor=request.user,
        ),
        "Document uploaded.",
    )


@require_POST
@community_view(INSTALLER)
def job_commission(request, community, offer_id):
    def go(o):
        inst, creds = services.installation_commission(installation=_installation(o), actor=request.user)
        for c in creds:
            messages.info(
                request, f"Device credentials (type into the device now; shown once): {c.username} / {c.password}"
            )
        return inst

    return _job_post(
        request,
        community,
        offer_id,
        go,
        "Commissioned: the kit is registered as devices of the home and reports to the platform.",
    )


@require_POST
@community_view(MONEY)
def deposit_refund(request, community, deposit_id):
    deposit = get_object_or_404(Deposit, pk=deposit_id, offer__registration__campaign__community=community)
    resp, _ = _act(
        request,
        lambda: services.deposit_refund(
            deposit=deposit,
            amount=request.POST.get("amount", ""),
            reason=request.POST.get("reason", ""),
            actor=request.user,
        ),
        reverse("purchasing:job", args=[community.slug, deposit.offer_id]),
        "Refund recorded in the ledger.",
    )
    return resp


# --- complaints --------------------------------------------------------------------


@community_view(CONVENOR + (Role.AUDITOR,))
def complaints(request, community):
    rows = Complaint.objects.filter(campaign__community=community).select_related("installer", "raised_by", "campaign")
    return render(
        request,
        "purchasing/complaints.html",
        {
            "community": community,
            "rows": rows,
            "form": forms.ComplaintUpdateForm(),
            "is_convenor": has_role(request.user, community, Role.CONVENOR),
        },
    )


@require_POST
@community_view(CONVENOR)
def complaint_update(request, community, complaint_id):
    c = get_object_or_404(Complaint, pk=complaint_id, campaign__community=community)
    resp, _ = _act(
        request,
        lambda: services.complaint_update(
            complaint=c,
            status=request.POST.get("status", ""),
            resolution=request.POST.get("resolution", ""),
            actor=request.user,
        ),
        reverse("purchasing:complaints", args=[community.slug]),
        "Complaint updated.",
    )
    return resp
