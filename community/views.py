"""Thin HTML views: resolve access, call a selector or a service, render."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from community import gdpr, selectors, services
from community.access import access_site, communities_for, community_view, has_role
from community.charts import site_map
from community.errors import DomainError
from community.forms import CommunityForm, InvitationForm, NetworkNodeForm, SiteForm, apply_domain_error
from community.models import Invitation, Role, Site
from community.panels import collect


def redirect_after_post(request: HttpRequest, to: str, **kwargs) -> HttpResponse:
    """After a successful form post: a full-page navigation, also when the form was posted by htmx."""
    url = reverse(to, kwargs=kwargs)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


logger = logging.getLogger(__name__)

SITE_EDITORS = (Role.CONVENOR, Role.ASSET_OPERATOR)
NETWORK_EDITORS = (Role.CONVENOR, Role.ASSET_OPERATOR)
LEDGER_READERS = (Role.TREASURER, Role.MARKET_OPERATOR, Role.AUDITOR, Role.CONVENOR)
AUDIT_READERS = (Role.CONVENOR, Role.AUDITOR)


def healthz(request: HttpRequest) -> JsonResponse:
    """Up or down for a load balancer: no host names, versions or error text (those go to the log)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("healthz: the database is unreachable")
        return JsonResponse({"status": "down", "ok": False, "database": "down"}, status=503)
    return JsonResponse({"status": "up", "ok": True, "database": "up"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    communities = list(communities_for(request.user))
    if len(communities) == 1 and request.method == "GET" and "all" not in request.GET:
        return redirect("community:detail", slug=communities[0].slug)
    # Starting a community: administrators, or anyone given the creation code when one is set.
    can_create = request.user.is_superuser or bool(settings.COMMUNITY_CREATION_CODE)
    if request.method == "POST" and not can_create:
        return render(
            request, "403.html", {"message": "Starting a community is for the platform's administrators."}, status=403
        )
    form = CommunityForm(request.POST or None, ask_code=not request.user.is_superuser) if can_create else None
    if request.method == "POST" and form.is_valid():
        try:
            community = services.community_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"] or None,
                settlement_period_minutes=form.cleaned_data["settlement_period_minutes"],
                description=form.cleaned_data["description"],
                creator=request.user,
                creation_code=form.cleaned_data.get("creation_code"),
            )
        except PermissionDenied as exc:
            form.add_error("creation_code", str(exc))
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, f"{community.name} is ready. Add its network next, then its sites.")
            return redirect("community:network", slug=community.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "community/home.html", {"communities": communities, "form": form}, status=status)


@community_view()
def community_detail(request: HttpRequest, community) -> HttpResponse:
    tree = selectors.network_tree(community)
    points = selectors.site_map_points(community, request.user)
    counts = {kind: 0 for kind in Site.Kind.labels}
    for p in points:
        counts[p["kind"]] = counts.get(p["kind"], 0) + 1
    context = {
        "community": community,
        "members": selectors.member_rows(community),
        "site_counts": counts,
        "site_total": len(points),
        "tree": selectors.flatten_tree(tree),
        "map_html": site_map(points) if points else "",
        "my_sites": selectors.sites_visible_to(request.user, community).filter(occupants=request.user),
        "panels": collect("community_panels", request, community),
        "can_add_site": bool(request.roles & set(SITE_EDITORS)),
        "can_see_ledger": bool(request.roles & set(LEDGER_READERS)),
        "can_see_audit": bool(request.roles & set(AUDIT_READERS)),
    }
    return render(request, "community/detail.html", context)


@community_view()
def members(request: HttpRequest, community) -> HttpResponse:
    can_invite = has_role(request.user, community, Role.CONVENOR)
    form = InvitationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not can_invite:
            return render(request, "403.html", {"message": "Only a convenor can invite people."}, status=403)
        if form.is_valid():
            try:
                invitation = services.invitation_create(
                    community=community,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                link = request.build_absolute_uri(reverse("invitation_accept", args=[invitation.token]))
                messages.success(request, f"Invitation created for {invitation.email}. Send them this link: {link}")
                return redirect_after_post(request, "community:members", slug=community.slug)
        status = 400
    context = {
        "community": community,
        "members": selectors.member_rows(community),
        "role_counts": selectors.role_counts(community),
        "form": form if can_invite else None,
        "invitations": Invitation.objects.filter(community=community, accepted_at__isnull=True)[:50]
        if can_invite
        else [],
    }
    template = (
        "community/members.html#invite-form" if request.htmx and request.method == "POST" else "community/members.html"
    )
    return render(request, template, context, status=status)


@community_view()
def network(request: HttpRequest, community) -> HttpResponse:
    can_edit = has_role(request.user, community, *NETWORK_EDITORS)
    form = NetworkNodeForm(request.POST or None, community=community)
    status = 200
    if request.method == "POST":
        if not can_edit:
            return render(
                request,
                "403.html",
                {"message": "Only a convenor or asset operator can change the network."},
                status=403,
            )
        if form.is_valid():
            try:
                node = services.network_node_create(community=community, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, f"Added {node.name}.")
                return redirect_after_post(request, "community:network", slug=community.slug)
        status = 400
    context = {
        "community": community,
        "tree": selectors.flatten_tree(selectors.network_tree(community)),
        "form": form if can_edit else None,
    }
    template = (
        "community/network.html#node-form" if request.htmx and request.method == "POST" else "community/network.html"
    )
    return render(request, template, context, status=status)


@community_view()
def site_detail(request: HttpRequest, community, site_id: int) -> HttpResponse:
    site = access_site(request.user, community, site_id)
    context = {
        "community": community,
        "site": site,
        "occupants": site.occupants.order_by("last_name"),
        "can_edit": has_role(request.user, community, *SITE_EDITORS),
        "panels": collect("site_panels", request, site),
    }
    return render(request, "community/site_detail.html", context)


def _site_form_view(request: HttpRequest, community, site: Site | None) -> HttpResponse:
    initial = None
    if site is not None:
        initial = {f: getattr(site, f) for f in services.communities.SITE_FIELDS}
        initial["occupants"] = list(site.occupants.all())
    form = SiteForm(request.POST or None, community=community, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            occupants = list(data.pop("occupants"))
            try:
                if site is None:
                    site = services.site_create(community=community, actor=request.user, occupants=occupants, **data)
                else:
                    services.site_update(site=site, actor=request.user, **data)
                    services.site_set_occupants(site=site, occupants=occupants, actor=request.user)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, f"Saved {site.name}.")
                return redirect("community:site", slug=community.slug, site_id=site.pk)
        status = 400
    return render(
        request, "community/site_form.html", {"community": community, "form": form, "site": site}, status=status
    )


@community_view(roles=SITE_EDITORS)
def site_create(request: HttpRequest, community) -> HttpResponse:
    return _site_form_view(request, community, None)


@community_view(roles=SITE_EDITORS)
def site_edit(request: HttpRequest, community, site_id: int) -> HttpResponse:
    site = access_site(request.user, community, site_id)
    return _site_form_view(request, community, site)


@community_view(roles=AUDIT_READERS)
def audit(request: HttpRequest, community) -> HttpResponse:
    return render(
        request, "community/audit.html", {"community": community, "events": selectors.audit_events(community)}
    )


@community_view(roles=LEDGER_READERS)
def ledger(request: HttpRequest, community) -> HttpResponse:
    verification = selectors.ledger_verify(community) if request.GET.get("verify") else None
    accounts = community.ledger_accounts.order_by("code")
    balances = selectors.account_balances(community)
    rows = [(a, balances.get(a.code, 0)) for a in accounts]
    entries = community.journal_entries.order_by("-seq")[:50]
    last_check = community.ledger_checks.first()
    context = {
        "community": community,
        "verification": verification,
        "rows": rows,
        "entries": entries,
        "last_check": last_check,
    }
    template = "community/ledger.html#verify" if request.htmx else "community/ledger.html"
    return render(request, template, context)


@login_required
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.objects.filter(token=token).select_related("community").first()
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except DomainError as exc:
            return render(
                request, "community/invitation.html", {"invitation": invitation, "error": exc.message}, status=400
            )
        messages.success(request, f"Welcome to {membership.community.name}.")
        return redirect("community:detail", slug=membership.community.slug)
    return render(request, "community/invitation.html", {"invitation": invitation}, status=200 if invitation else 404)


# ------------------------------------------------------------------ personal data (GDPR)


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """What the platform holds about me, my consents, and downloads of all of it."""
    export = gdpr.personal_data_export(user=request.user)
    tables = [(label, len(rows)) for label, rows in export["tables"].items()]
    now = timezone.now()
    consents = [(c, c.in_force(now)) for c in gdpr.consents_of(request.user)]
    context = {"person": export["person"], "tables": tables, "consents": consents}
    return render(request, "community/my_data.html", context)


@login_required
def my_data_download(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in {"json", "csv"}:
        raise Http404("Downloads are .json or .csv.")
    export = gdpr.personal_data_export(user=request.user)
    stamp = timezone.now().strftime("%Y%m%d")
    if fmt == "csv":
        response = HttpResponse(gdpr.export_csv(export), content_type="text/csv; charset=utf-8")
    else:
        response = JsonResponse(export, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
