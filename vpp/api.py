"""REST API of the VPP: requirements (flex buyers), delivery reports, forecasts, enrolments, opt-outs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community.access import access_community, roles_in
from community.models import NetworkNode, Role
from vpp import selectors, services
from vpp.models import Enrolment, Event, Requirement
from vpp.views import OPERATOR_READERS, _report_rows


class RequirementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Requirement
        fields = [
            "id",
            "reference",
            "buyer_name",
            "node",
            "product",
            "direction",
            "starts_at",
            "ends_at",
            "kw_wanted",
            "notice_minutes",
            "availability_gbp_per_mw_h",
            "utilisation_gbp_per_mwh",
            "baseline_method",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "status", "created_at"]


class RequirementList(generics.ListCreateAPIView):
    """A flex buyer's requirements (operators see all). POST publishes one; bad input is a 400 naming the field."""

    serializer_class = RequirementSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        held = roles_in(self.request.user, community)
        if not held & {*OPERATOR_READERS, Role.FLEX_BUYER}:
            raise PermissionDenied("Only flex buyers and the VPP's operators see requirements.")
        return selectors.requirements_for(self.request.user, community).order_by("-starts_at")

    def create(self, request, *args, **kwargs):
        community = access_community(request.user, kwargs["slug"], roles=[Role.FLEX_BUYER])
        s = RequirementSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        node = d.pop("node")
        if node.community_id != community.pk:
            node = get_object_or_404(NetworkNode, pk=-1)
        req = services.requirement_create(community=community, buyer=request.user, node=node, **d)
        return Response(RequirementSerializer(req).data, status=status.HTTP_201_CREATED)


class EventReport(APIView):
    """Per period: target, plan, commanded, delivered and every baseline (W, aggregated over households)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, slug: str, event_id: int):
        community = access_community(request.user, slug)
        ev = get_object_or_404(Event.objects.select_related("requirement", "bid"), pk=event_id, community=community)
        held = roles_in(request.user, community)
        if not (held & set(OPERATOR_READERS) or ev.requirement.buyer_id == request.user.pk):
            raise PermissionDenied("Only the VPP's operators and the event's buyer can read its report.")
        settlement = getattr(ev, "settlement", None) if hasattr(ev, "settlement") else None
        return Response(
            {
                "event": ev.pk,
                "reference": ev.requirement.reference,
                "status": ev.status,
                "accepted_kw": str(ev.bid.volume_kw),
                "settling_baseline": ev.requirement.baseline_method,
                "delivered_wh": settlement.delivered_wh if settlement else None,
                "revenue_gbp": str(settlement.revenue) if settlement else None,
                "periods": list(_report_rows(ev)),
            }
        )


class Forecast(APIView):
    """P10/P50/P90 turn-down flexibility (W) per node and period for the next ``hours``."""

    @extend_schema(
        parameters=[OpenApiParameter("hours", int, description="1-48, default 48")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, slug: str):
        community = access_community(request.user, slug, roles=OPERATOR_READERS)
        try:
            hours = max(1, min(48, int(request.query_params.get("hours", 48))))
        except ValueError:
            return Response({"detail": "hours must be a whole number", "field": "hours"}, status=400)
        now = timezone.now()
        start = now.replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
        rows = selectors.forecast_by_node(community, start=start, hours=hours)
        return Response(
            {
                "starts": [s.isoformat() for s in (rows[0][1].starts if rows else [])],
                "nodes": [
                    {
                        "node": n.pk,
                        "name": n.name,
                        "p10_w": f.p10,
                        "p50_w": f.p50,
                        "p90_w": f.p90,
                        "units": len(f.units),
                    }
                    for n, f in rows
                ],
            }
        )


class EnrolmentSerializer(serializers.ModelSerializer):
    consent_expires_at = serializers.DateTimeField(source="consent.expires_at", read_only=True)
    consent_text = serializers.CharField(source="consent.text", read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "site",
            "kind",
            "device",
            "max_events_per_week",
            "enrolled_at",
            "consent_expires_at",
            "consent_text",
        ]
        read_only_fields = fields


class EnrolmentList(generics.ListAPIView):
    """The caller's own enrolments, with when each consent expires."""

    serializer_class = EnrolmentSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return Enrolment.objects.filter(community=community, user=self.request.user, left_at=None).select_related(
            "consent"
        )


class OptOutInput(serializers.Serializer):
    enrolment = serializers.IntegerField()


class OptOut(APIView):
    """Opt one of your enrolments out of an event, up to its start."""

    @extend_schema(request=OptOutInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, slug: str, event_id: int):
        community = access_community(request.user, slug)
        s = OptOutInput(data=request.data)
        s.is_valid(raise_exception=True)
        ev = get_object_or_404(Event, pk=event_id, community=community)
        e = get_object_or_404(Enrolment, pk=s.validated_data["enrolment"], community=community, user=request.user)
        opt = services.event_opt_out(event=ev, enrolment=e, user=request.user)
        return Response(
            {"event": ev.pk, "enrolment": e.pk, "opted_out_at": opt.created_at}, status=status.HTTP_201_CREATED
        )
