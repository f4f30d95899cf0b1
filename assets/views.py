"""Energy pages: the community dashboard, a site's devices and charts, the
operator page, CSV import, and the device actions (credentials, commands)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from assets import charts, selectors, services
from assets.forms import CommandForm, ReadingsImportForm
from assets.models import Device
from community.access import OPERATOR_ROLES, access_site, community_view
from community.cache import cached, current_period_start, page_key
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Role
from community.selectors import sites_visible_to

COMMANDERS = (Role.ASSET_OPERATOR,)
IMPORTERS = (Role.ASSET_OPERATOR, Role.MARKET_OPERATOR)


def community_energy_context(request: HttpRequest, community) -> dict:
    """Context for templates/assets/partials/community_energy.html (also used
    by the community page's panel). The same for everyone in the community: the
    figures and both charts are cached for a minute per community and period."""

    def build() -> dict:
        summary = selectors.community_energy_summary(community)
        return {
            "energy": summary,
            "today_chart": charts.generation_vs_demand(summary["today"], summary["period_minutes"], 240),
            "week_chart": charts.daily_totals(summary["days"]),
        }

    period = current_period_start(community.settlement_period_minutes)
    return {"community": community, **cached(page_key("energy-panel", community.pk, period), build)}


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    ctx = community_energy_context(request, community)
    sites = list(
        sites_visible_to(request.user, community).filter(devices__isnull=False).distinct().order_by("name")[:80]
    )
    ctx.update(
        sites=sites,
        is_operator=bool(request.roles & OPERATOR_ROLES),
        can_import=bool(request.roles & set(IMPORTERS)),
    )
    if request.htmx and request.GET.get("partial") == "energy":
        return render(request, "assets/partials/community_energy.html", ctx)
    return render(request, "assets/index.html", ctx)


def _site_context(request, community, site):
    devices = selectors.site_devices(site)
    now = timezone.now()
    for d in devices:
        d.is_online = selectors.is_online(d, now=now)
    return {"community": community, "site": site, "devices": devices, "now": now}


@community_view()
def site(request: HttpRequest, community, site_id: int) -> HttpResponse:
    site = access_site(request.user, community, site_id)
    ctx = _site_context(request, community, site)
    if request.htmx and request.GET.get("partial") == "live":
        return render(request, "assets/site.html#live", ctx)
    day = selectors.today_local(community.timezone)
    start, end = selectors.local_day_bounds(day, community.timezone)
    series = selectors.site_energy(site, start=start, end=end)
    ctx.update(
        series=series,
        day=day,
        chart=charts.site_day(series, community.settlement_period_minutes),
        totals={
            "imported": series.total("imported"),
            "exported": series.total("exported"),
            "generated": series.total("generated"),
        },
        is_household=site.occupants.filter(pk=request.user.pk).exists(),
        can_rotate=site.occupants.filter(pk=request.user.pk).exists() or Role.ASSET_OPERATOR in request.roles,
        commands=selectors.command_history(community, limit=10, site=site),
    )
    return render(request, "assets/site.html", ctx)


@community_view()
@require_POST
def device_rotate(request: HttpRequest, community, device_id: int) -> HttpResponse:
    device = get_object_or_404(Device.objects.select_related("site", "community"), pk=device_id, community=community)
    site = access_site(request.user, community, device.site_id)
    if not (site.occupants.filter(pk=request.user.pk).exists() or Role.ASSET_OPERATOR in request.roles):
        raise PermissionDenied("Only the household and asset operators can change a device's credentials.")
    creds = services.device_credentials_rotate(device=device, actor=request.user)
    # shown once: rendered into this response only, never stored in clear
    return render(request, "assets/credentials.html", {"community": community, "device": device, "creds": creds})


@community_view(roles=OPERATOR_ROLES)
def operator(request: HttpRequest, community) -> HttpResponse:
    devices = [d for d in selectors.offline_devices(community)[:200]]
    form = None
    status = 200
    can_command = Role.ASSET_OPERATOR in request.roles
    controllable = list(
        Device.objects.filter(community=community)
        .exclude(kind="smart_meter")
        .select_related("site")
        .order_by("site__name", "name")[:500]
    )
    if can_command:
        form = CommandForm(request.POST or None, devices=controllable)
        if request.method == "POST":
            if form.is_valid():
                device = get_object_or_404(Device, pk=form.cleaned_data["device"], community=community)
                try:
                    cmd = services.command_publish(
                        device=device,
                        action=form.cleaned_data["action"],
                        params=form.params(),
                        actor=request.user,
                        valid_for=timedelta(minutes=form.cleaned_data["minutes"]),
                    )
                except DomainError as exc:
                    apply_domain_error(form, exc)
                    status = 400
                else:
                    messages.success(request, f"Sent {cmd.action} to {device.name}; its ack will appear below.")
                    from community.views import redirect_after_post

                    return redirect_after_post(request, "assets:operator", slug=community.slug)
            else:
                status = 400
    elif request.method == "POST":
        raise PermissionDenied("Only asset operators can command devices.")
    ctx = {
        "community": community,
        "rejected": selectors.rejected_messages(community, limit=50),
        "rejection_summary": selectors.rejection_summary(community),
        "offline": devices,
        "counts": selectors.device_counts(community),
        "commands": selectors.command_history(community, limit=50),
        "form": form,
    }
    if request.htmx and request.GET.get("partial") == "commands":
        return render(request, "assets/operator.html#commands", ctx)
    return render(request, "assets/operator.html", ctx, status=status)


@community_view(roles=IMPORTERS)
def readings_import(request: HttpRequest, community) -> HttpResponse:
    report = None
    status = 200
    form = ReadingsImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text (save it as CSV UTF-8).")
                status = 400
            else:
                report = services.readings_import_csv(
                    community=community, text=text, dry_run=form.cleaned_data["dry_run"], actor=request.user
                )
                status = 200 if report.ok else 400
        else:
            status = 400
    return render(
        request, "assets/import.html", {"community": community, "form": form, "report": report}, status=status
    )
