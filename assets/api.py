"""REST API: devices, interval readings (by site and period range), commands."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from assets import services
from assets.models import Device, DeviceCommand, IntervalReading
from assets.views import COMMANDERS
from community.access import OPERATOR_ROLES, access_community, access_site, roles_in
from community.errors import DomainError
from community.models import Role, Site
from community.params import query_int, query_time

REGISTRARS = (Role.ASSET_OPERATOR, Role.CONVENOR)


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = [
            "id",
            "uid",
            "name",
            "kind",
            "site",
            "ownership",
            "owner_name",
            "rated_power_w",
            "capacity_wh",
            "limits",
            "specs",
            "mqtt_username",
            "online",
            "last_seen_at",
            "created_at",
        ]
        read_only_fields = fields


class DeviceInputSerializer(serializers.Serializer):
    site = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Device.Kind.choices)
    uid = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120)
    rated_power_w = serializers.IntegerField()
    capacity_wh = serializers.IntegerField(required=False, allow_null=True)
    limits = serializers.DictField(required=False)
    specs = serializers.DictField(required=False)
    ownership = serializers.ChoiceField(choices=Device.Ownership.choices, default="household")
    owner_name = serializers.CharField(required=False, allow_blank=True, default="")


class DeviceCreatedSerializer(DeviceSerializer):
    mqtt_password = serializers.CharField(read_only=True, help_text="Shown once; only its hash is stored.")

    class Meta(DeviceSerializer.Meta):
        fields = DeviceSerializer.Meta.fields + ["mqtt_password"]
        read_only_fields = fields


def _visible_devices(user, community):
    qs = Device.objects.filter(community=community)
    if roles_in(user, community) & OPERATOR_ROLES:
        return qs
    return qs.filter(Q(site__occupants=user) | ~Q(ownership=Device.Ownership.HOUSEHOLD)).distinct()


class DeviceList(generics.ListCreateAPIView):
    serializer_class = DeviceSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return _visible_devices(self.request.user, community).order_by("pk")

    @extend_schema(request=DeviceInputSerializer, responses=DeviceCreatedSerializer)
    def post(self, request, slug):
        community = access_community(request.user, slug, REGISTRARS)
        data = DeviceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        site = Site.objects.filter(community=community, pk=values.pop("site")).first()
        if site is None:
            raise DomainError("no such site in this community", field="site")
        device, creds = services.device_register(site=site, actor=request.user, **values)
        out = DeviceCreatedSerializer(device).data
        out["mqtt_password"] = creds.password
        return Response(out, status=status.HTTP_201_CREATED)


class LimitsInputSerializer(serializers.Serializer):
    reserve_pct = serializers.FloatField(required=False, help_text="battery: never discharge below (%)")
    ready_by = serializers.CharField(required=False, help_text="EV: charged by (HH:MM, local time)")
    target_pct = serializers.FloatField(required=False, help_text="EV: charge target (%)")
    comfort_min_c = serializers.FloatField(required=False, help_text="heat pump: lowest setpoint (°C)")
    comfort_max_c = serializers.FloatField(required=False, help_text="heat pump: highest setpoint (°C)")


class DeviceLimits(generics.GenericAPIView):
    """The household (or an asset operator) sets the device's limits; the
    simulator and the VPP read them, and devices refuse commands outside them."""

    serializer_class = DeviceSerializer

    @extend_schema(request=LimitsInputSerializer, responses=DeviceSerializer)
    def post(self, request, slug, device_id):
        community = access_community(request.user, slug)
        device = _visible_devices(request.user, community).filter(pk=device_id).select_related("site").first()
        if device is None:
            from django.http import Http404

            raise Http404("No such device.")
        household = device.site.occupants.filter(pk=request.user.pk).exists()
        if not (household or Role.ASSET_OPERATOR in roles_in(request.user, community)):
            raise PermissionDenied("Only the household and asset operators can change a device's limits.")
        data = LimitsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = services.device_limits_update(device=device, limits=dict(data.validated_data), actor=request.user)
        return Response(DeviceSerializer(device).data)


class DeviceDetail(generics.RetrieveAPIView):
    serializer_class = DeviceSerializer

    def get_object(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        device = _visible_devices(self.request.user, community).filter(pk=self.kwargs["device_id"]).first()
        if device is None:
            from django.http import Http404

            raise Http404("No such device.")
        return device


class ReadingSerializer(serializers.ModelSerializer):
    meter = serializers.CharField(source="meter.serial")
    meter_kind = serializers.CharField(source="meter.kind")
    site = serializers.IntegerField(source="meter.site_id")

    class Meta:
        model = IntervalReading
        fields = ["meter", "meter_kind", "site", "period_start", "period_minutes", "import_wh", "export_wh", "source"]
        read_only_fields = fields


def _param_time(request, name):
    return query_time(request.query_params, name)


@extend_schema(
    parameters=[
        OpenApiParameter("site", OpenApiTypes.INT, description="only this site's meters"),
        OpenApiParameter("start", OpenApiTypes.DATETIME, description="periods starting at or after (inclusive)"),
        OpenApiParameter("end", OpenApiTypes.DATETIME, description="periods starting before (exclusive)"),
    ]
)
class ReadingList(generics.ListAPIView):
    """Interval readings (Wh per period). Households see their own sites'
    meters; operators see all. A missing period is simply absent -- never 0."""

    serializer_class = ReadingSerializer

    def get_queryset(self):
        user = self.request.user
        community = access_community(user, self.kwargs["slug"])
        start, end = _param_time(self.request, "start"), _param_time(self.request, "end")
        if start and end and end <= start:
            raise DomainError("end must be after start", field="end")
        if start and end and end - start > timedelta(days=400):
            raise DomainError("ask for at most 400 days at a time", field="end")
        qs = IntervalReading.objects.filter(meter__site__community=community).select_related("meter")
        site_id = query_int(self.request.query_params, "site", minimum=1)
        if site_id:
            qs = qs.filter(meter__site=access_site(user, community, site_id))
        elif not roles_in(user, community) & OPERATOR_ROLES:
            qs = qs.filter(meter__site__occupants=user)
        if start:
            qs = qs.filter(period_start__gte=start)
        if end:
            qs = qs.filter(period_start__lt=end)
        return qs.order_by("meter_id", "period_start")


class CommandSerializer(serializers.ModelSerializer):
    device_uid = serializers.CharField(source="device.uid", read_only=True)

    class Meta:
        model = DeviceCommand
        fields = [
            "id",
            "device",
            "device_uid",
            "action",
            "params",
            "valid_until",
            "status",
            "detail",
            "source",
            "created_at",
            "sent_at",
            "acked_at",
        ]
        read_only_fields = fields


class CommandInputSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    action = serializers.CharField()
    params = serializers.DictField(required=False, default=dict)
    valid_for_s = serializers.IntegerField(default=1800, help_text="lease length in seconds (10 s to 24 h)")


class CommandList(generics.ListCreateAPIView):
    serializer_class = CommandSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"], OPERATOR_ROLES)
        return DeviceCommand.objects.filter(device__community=community).select_related("device")

    @extend_schema(request=CommandInputSerializer, responses=CommandSerializer)
    def post(self, request, slug):
        community = access_community(request.user, slug)
        if not roles_in(request.user, community) & set(COMMANDERS):
            raise PermissionDenied("Only asset operators can command devices.")
        data = CommandInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = Device.objects.filter(community=community, pk=data.validated_data["device"]).first()
        if device is None:
            raise DomainError("no such device in this community", field="device")
        cmd = services.command_publish(
            device=device,
            action=data.validated_data["action"],
            params=data.validated_data["params"],
            actor=request.user,
            source="api",
            valid_for=timedelta(seconds=data.validated_data["valid_for_s"]),
        )
        return Response(CommandSerializer(cmd).data, status=status.HTTP_201_CREATED)
