"""REST API for communities, memberships, sites and the network (under /api/v1/)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from community import gdpr, selectors, services
from community.access import access_community, access_site, communities_for, has_role
from community.errors import DomainError
from community.models import Community, Invitation, Membership, NetworkNode, Role, Site
from community.views import NETWORK_EDITORS, SITE_EDITORS


class CommunitySerializer(serializers.ModelSerializer):
    creation_code = serializers.CharField(
        write_only=True, required=False, max_length=200, help_text="needed unless you are a platform administrator"
    )

    class Meta:
        model = Community
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "timezone",
            "settlement_period_minutes",
            "created_at",
            "creation_code",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "name", "role", "created_at"]
        read_only_fields = ["id", "username", "name", "created_at"]
        extra_kwargs = {"role": {"validators": []}}

    def get_name(self, obj) -> str:
        return obj.user.get_full_name()


class InvitationInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class InvitationSerializer(serializers.ModelSerializer):
    accept_url = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at", "accept_url"]
        read_only_fields = fields

    def get_accept_url(self, obj) -> str:
        path = reverse("invitation_accept", args=[obj.token])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class NetworkNodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = NetworkNode
        fields = ["id", "kind", "name", "code", "parent", "import_capacity_kw", "export_capacity_kw"]
        read_only_fields = ["id"]


class NetworkNodeInputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    code = serializers.CharField()
    parent = serializers.IntegerField(required=False, allow_null=True)
    import_capacity_kw = serializers.DecimalField(max_digits=10, decimal_places=1)
    export_capacity_kw = serializers.DecimalField(max_digits=10, decimal_places=1)


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "id",
            "kind",
            "name",
            "address",
            "postcode",
            "latitude",
            "longitude",
            "meter_point_id",
            "network_node",
            "occupants",
            "annual_consumption_kwh",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class SiteInputSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False)
    name = serializers.CharField()
    address = serializers.CharField()
    postcode = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    meter_point_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    network_node = serializers.IntegerField()
    annual_consumption_kwh = serializers.IntegerField(required=False, allow_null=True)


def _node(community: Community, pk: int | None) -> NetworkNode | None:
    if pk is None:
        return None
    return NetworkNode.objects.filter(community=community, pk=pk).first()


class CommunityList(generics.ListCreateAPIView):
    serializer_class = CommunitySerializer

    def get_queryset(self):
        return communities_for(self.request.user).order_by("name")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.community_create(
            name=data["name"],
            slug=data.get("slug"),
            timezone_name=data.get("timezone", "Europe/London"),
            settlement_period_minutes=data.get("settlement_period_minutes", 30),
            description=data.get("description", ""),
            creator=self.request.user,
            creation_code=data.get("creation_code"),
        )


class CommunityDetail(generics.RetrieveAPIView):
    serializer_class = CommunitySerializer

    def get_object(self):
        return access_community(self.request.user, self.kwargs["slug"])


class MembershipList(generics.ListCreateAPIView):
    serializer_class = MembershipSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return Membership.objects.filter(community=community).select_related("user")

    @extend_schema(request=InvitationInputSerializer, responses={201: InvitationSerializer})
    def post(self, request, slug):
        """Invite a person by email (convenors). They become a member only by accepting
        the invitation: no one is added by another person's user id."""
        community = access_community(request.user, slug, [Role.CONVENOR])
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            community=community,
            email=data.validated_data["email"],
            role=data.validated_data["role"],
            actor=request.user,
        )
        return Response(
            InvitationSerializer(invitation, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class NetworkNodeList(generics.ListCreateAPIView):
    serializer_class = NetworkNodeSerializer
    pagination_class = None

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return NetworkNode.objects.filter(community=community).order_by("kind", "name")

    @extend_schema(request=NetworkNodeInputSerializer, responses=NetworkNodeSerializer)
    def post(self, request, slug):
        community = access_community(request.user, slug, NETWORK_EDITORS)
        data = NetworkNodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        parent_id = values.pop("parent", None)
        parent = _node(community, parent_id)
        if parent_id is not None and parent is None:
            return Response(
                {"detail": f"Network node {parent_id} is not in this community.", "field": "parent"}, status=400
            )
        node = services.network_node_create(community=community, parent=parent, actor=request.user, **values)
        return Response(NetworkNodeSerializer(node).data, status=status.HTTP_201_CREATED)


class SiteList(generics.ListCreateAPIView):
    serializer_class = SiteSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return selectors.sites_visible_to(self.request.user, community).prefetch_related("occupants").order_by("pk")

    @extend_schema(request=SiteInputSerializer, responses=SiteSerializer)
    def post(self, request, slug):
        community = access_community(request.user, slug, SITE_EDITORS)
        data = SiteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["network_node"] = _node(community, values["network_node"])
        site = services.site_create(community=community, actor=request.user, **values)
        return Response(SiteSerializer(site).data, status=status.HTTP_201_CREATED)


class SiteDetail(generics.RetrieveAPIView):
    serializer_class = SiteSerializer

    def get_object(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return access_site(self.request.user, community, self.kwargs["site_id"])

    @extend_schema(request=SiteInputSerializer, responses=SiteSerializer)
    def patch(self, request, slug, site_id):
        community = access_community(request.user, slug)
        if not has_role(request.user, community, *SITE_EDITORS):
            raise PermissionDenied("Only a convenor or asset operator can edit sites.")
        site = access_site(request.user, community, site_id)
        data = SiteInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "network_node" in values:
            values["network_node"] = _node(community, values["network_node"])
        site = services.site_update(site=site, actor=request.user, **values)
        return Response(SiteSerializer(site).data)


class MyDataView(generics.GenericAPIView):
    """Everything the platform holds about you (GDPR access and portability):
    ``?as=csv`` for one long CSV table instead of JSON."""

    pagination_class = None

    @extend_schema(
        parameters=[OpenApiParameter("as", str, enum=["json", "csv"], description="json (default) or csv")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        export = gdpr.personal_data_export(user=request.user)
        wanted = request.query_params.get("as", "json")
        if wanted not in ("json", "csv"):
            raise DomainError("as must be json or csv.", field="as")
        if wanted == "csv":
            return HttpResponse(gdpr.export_csv(export), content_type="text/csv; charset=utf-8")
        return Response(export)
