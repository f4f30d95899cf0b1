"""Grid pages: the live view of the network and the segment under control, a
household's "what the controller did with my devices and why", and the network
operator's constraint statements with the platform's response."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from assets.domain import kinds
from assets.models import Device
from community import services as community_services
from community.access import OPERATOR_ROLES, community_view
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import ConstraintStatement, NetworkNode, Role
from vpp.balancing import charts, selectors, services
from vpp.balancing.forms import ConstraintForm
from vpp.balancing.models import Segment

CONTROLLERS = (Role.ASSET_OPERATOR,)
CONSTRAINT_READERS = (
    Role.NETWORK_OPERATOR,
    Role.ASSET_OPERATOR,
    Role.MARKET_OPERATOR,
    Role.CONVENOR,
    Role.AUDITOR,
)


def _segment_panel(segment: Segment, *, now, operator: bool) -> dict:
    schedule = selectors.latest_schedule(segment)
    steps = list(selectors.recent_steps(segment, since=now - timedelta(hours=3)))
    last = steps[-1] if steps else None
    tz = segment.community.timezone or "Europe/London"
    local_midnight = now.astimezone(ZoneInfo(tz)).replace(hour=0, minute=0, second=0, microsecond=0)
    panel = {
        "segment": segment,
        "schedule": schedule,
        "last": last,
        "chart": charts.schedule_vs_actual(schedule, steps, tz, now=now),
        "alarms": list(selectors.open_alarms(segment)) if operator else [],
        "alarm_count": selectors.open_alarms(segment).count(),
        "today": selectors.segment_kpis(segment, since=local_midnight, until=now),
        "week": selectors.segment_kpis(segment, since=now - timedelta(days=7), until=now),
        "homes": selectors.segment_sites(segment).count(),
    }
    if last is not None and last.measured_net_w is not None:
        lim = last.import_limit_w if last.measured_net_w >= 0 else last.export_limit_w
        panel["position_pct"] = min(100.0, 100.0 * abs(last.measured_net_w) / lim) if lim else 100.0
    if operator:
        devices = [
            d
            for d in selectors.segment_devices(segment)
            if d.kind in (kinds.BATTERY, kinds.PV_INVERTER, kinds.SMART_METER)
        ]
        latest = selectors.latest_telemetry([d.pk for d in devices], now=now, window=timedelta(hours=1))
        for d in devices:
            d.reading = latest.get(d.pk)
            d.stale = selectors.is_stale(d.reading, now, segment.stale_after_s)
        panel["devices"] = devices
    return panel


def _live_context(request, community) -> dict:
    now = timezone.now()
    operator = bool(request.roles & OPERATOR_ROLES)
    flows = selectors.node_flows(community, now=now)
    segments = [_segment_panel(s, now=now, operator=operator) for s in selectors.segments_for(community)]
    return {
        "community": community,
        "now": now,
        "is_operator": operator,
        "can_control": bool(request.roles & set(CONTROLLERS)),
        "flows": flows,
        "loading_chart": charts.node_loading(flows) if any(f.measured_w is not None for f in flows) else "",
        "segments": segments,
    }


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    ctx = _live_context(request, community)
    ctx["is_dso"] = Role.NETWORK_OPERATOR in request.roles
    ctx["has_home"] = community.sites.filter(occupants=request.user).exists()
    if request.htmx and request.GET.get("partial") == "live":
        return render(request, "balancing/index.html#live", ctx)
    return render(request, "balancing/index.html", ctx)


@community_view()
def household(request: HttpRequest, community) -> HttpResponse:
    actions = list(selectors.household_actions(request.user, community))
    devices = list(
        Device.objects.filter(
            community=community,
            site__occupants=request.user,
            kind__in=(kinds.BATTERY, kinds.EV_CHARGER, kinds.HEAT_PUMP),
        )
        .select_related("site")
        .order_by("site_id", "kind", "pk")
    )
    segments = {s.node_id: s for s in selectors.segments_for(community)}
    for d in devices:
        d.segment = segments.get(d.site.network_node_id)
    return render(
        request,
        "balancing/household.html",
        {"community": community, "actions": actions, "devices": devices},
    )


@community_view(roles=CONSTRAINT_READERS)
def constraints(request: HttpRequest, community) -> HttpResponse:
    is_dso = Role.NETWORK_OPERATOR in request.roles
    nodes = selectors.operated_nodes(request.user, community) if is_dso else NetworkNode.objects.none()
    node_ids = (
        list(nodes.values_list("pk", flat=True))
        if is_dso
        else list(NetworkNode.objects.filter(community=community).values_list("pk", flat=True))
    )
    form = None
    if is_dso:
        tz = ZoneInfo(community.timezone or "Europe/London")
        timezone.activate(tz)
        form = ConstraintForm(request.POST or None, nodes=nodes)
        if request.method == "POST" and form.is_valid():
            try:
                st = community_services.constraint_statement_issue(
                    community=community, actor=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                for seg in Segment.objects.filter(node_id=st.node_id):
                    try:
                        services.schedule_solve(segment=seg, trigger="constraint")
                    except DomainError as exc:
                        messages.warning(request, str(exc))
                messages.success(request, f"Published {st.reference} v{st.version} for {st.node.name}.")
                return redirect("balancing:constraints", community.slug)
    elif request.method == "POST":
        raise PermissionDenied("Only a network operator publishes constraint statements.")
    statements = selectors.statements_for_nodes(community, node_ids)
    flows = selectors.node_flows(community, nodes=NetworkNode.objects.filter(pk__in=node_ids))
    return render(
        request,
        "balancing/constraints.html",
        {
            "community": community,
            "form": form,
            "is_dso": is_dso,
            "responses": selectors.constraint_responses(statements[:50]),
            "flows": flows,
            "nodes": nodes,
        },
    )


@require_POST
@community_view(roles=(Role.NETWORK_OPERATOR,))
def constraint_withdraw(request: HttpRequest, community, statement_id: int) -> HttpResponse:
    st = get_object_or_404(
        ConstraintStatement,
        community=community,
        pk=statement_id,
        node__in=selectors.operated_nodes(request.user, community),
    )
    community_services.constraint_statement_withdraw(statement=st, actor=request.user)
    messages.success(request, f"Withdrew {st.reference}.")
    return redirect("balancing:constraints", community.slug)


@require_POST
@community_view(roles=CONTROLLERS)
def resolve(request: HttpRequest, community, segment_id: int) -> HttpResponse:
    seg = get_object_or_404(Segment, community=community, pk=segment_id)
    try:
        sch = services.schedule_solve(segment=seg, trigger="operator", actor=request.user)
        messages.success(request, f"Re-solved {seg.name} in {sch.solve_seconds:.2f} s.")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("balancing:index", community.slug)
