"""REST API for group buying (under /api/v1/communities/<slug>/buy/). Bad input -> 400 with the message."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community.access import access_community
from community.errors import DomainError
from community.models import Role, Site

from . import selectors, services
from .models import Campaign, Offer, Package

HOUSEHOLD = [Role.MEMBER]
INSTALLER = [Role.SUPPLIER]


class GroupBuyPackageSerializer(serializers.ModelSerializer):
    winner = serializers.CharField(source="winner.company", default=None, read_only=True)
    reserve = serializers.CharField(source="reserve.company", default=None, read_only=True)

    class Meta:
        model = Package
        fields = [
            "id",
            "kind",
            "name",
            "spec",
            "min_size",
            "max_size",
            "market_price_per_unit_gbp",
            "grant_gbp",
            "min_fuse_a",
            "min_roof_area_m2",
            "max_shading",
            "timeline",
            "winner",
            "reserve",
        ]


class GroupBuyCampaignSerializer(serializers.ModelSerializer):
    packages = GroupBuyPackageSerializer(many=True, read_only=True)
    stats = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "registration_closes",
            "bid_deadline",
            "decision_days",
            "deposit_gbp",
            "convenor_fee_gbp",
            "price_weight",
            "quality_weight",
            "finance_options",
            "packages",
            "stats",
        ]

    def get_stats(self, obj) -> dict:
        s = selectors.campaign_stats(obj)
        return {
            "registrations": s.registrations,
            "offers": s.offers,
            "accepted": s.accepted,
            "acceptance_rate": round(s.acceptance_rate, 3),
            "installed": s.installed,
            "installed_kwp": str(s.installed_kwp),
            "saving_vs_alone_gbp": str(s.saving_vs_alone_gbp),
            "saving_vs_alone_pct": round(s.saving_vs_alone_pct, 1),
        }


class GroupBuyHomeSerializer(serializers.Serializer):
    packages = serializers.ListField(child=serializers.IntegerField(), min_length=1)
    site = serializers.IntegerField(required=False, allow_null=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    roof_area_m2 = serializers.DecimalField(max_digits=7, decimal_places=1)
    azimuth_deg = serializers.IntegerField()
    tilt_deg = serializers.IntegerField()
    shading = serializers.CharField(default="none")
    fuse_a = serializers.IntegerField(default=60)
    annual_use_kwh = serializers.IntegerField(required=False, allow_null=True)
    floor_area_m2 = serializers.IntegerField(default=94)
    ev_miles = serializers.IntegerField(default=0)

    def home(self) -> dict:
        d = self.validated_data
        return {
            "lat": d["latitude"],
            "lon": d["longitude"],
            "roof_area_m2": d["roof_area_m2"],
            "azimuth_deg": d["azimuth_deg"],
            "tilt_deg": d["tilt_deg"],
            "shading": d["shading"],
            "fuse_a": d["fuse_a"],
            "annual_use_kwh": d.get("annual_use_kwh"),
            "floor_area_m2": d["floor_area_m2"],
            "ev_miles": d["ev_miles"],
        }


class GroupBuyEstimateSerializer(serializers.Serializer):
    package = serializers.IntegerField(source="package.pk")
    kind = serializers.CharField(source="package.kind")
    eligible = serializers.BooleanField()
    reason = serializers.CharField()
    size = serializers.DecimalField(max_digits=6, decimal_places=2)
    unit = serializers.CharField()
    annual_yield_kwh = serializers.IntegerField()
    annual_savings_gbp = serializers.DecimalField(max_digits=9, decimal_places=2)
    price_gbp = serializers.DecimalField(max_digits=10, decimal_places=2)
    market_price_gbp = serializers.DecimalField(max_digits=10, decimal_places=2)
    payback_years = serializers.FloatField(allow_null=True)
    group_price = serializers.BooleanField()


class GroupBuyOfferSerializer(serializers.ModelSerializer):
    installer = serializers.CharField(source="installer.company")
    deposit_status = serializers.CharField(source="deposit.status", default=None)

    class Meta:
        model = Offer
        fields = [
            "id",
            "package",
            "installer",
            "size",
            "price_gbp",
            "market_price_gbp",
            "annual_yield_kwh",
            "annual_savings_gbp",
            "payback_years",
            "status",
            "status_reason",
            "expires_at",
            "deposit_status",
        ]


class GroupBuyTierSerializer(serializers.Serializer):
    up_to = serializers.DecimalField(max_digits=7, decimal_places=2)
    price_per_unit = serializers.DecimalField(max_digits=9, decimal_places=2)


class GroupBuyBidInputSerializer(serializers.Serializer):
    tiers = GroupBuyTierSerializer(many=True)


def _campaign(request, slug, campaign_id, roles=None) -> Campaign:
    community = access_community(request.user, slug, roles)
    return get_object_or_404(Campaign, community=community, pk=campaign_id)


def _packages(campaign: Campaign, ids: list[int]) -> list[Package]:
    packages = list(campaign.packages.filter(pk__in=ids))
    if len(packages) != len(set(ids)):
        raise DomainError("A chosen package is not part of this campaign.", field="packages")
    return packages


def _site(request, campaign, site_id) -> Site | None:
    if site_id is None:
        return None
    site = Site.objects.filter(pk=site_id, community=campaign.community, occupants=request.user).first()
    if site is None:
        raise DomainError("That is not your home on the platform.", field="site")
    return site


class CampaignList(generics.ListAPIView):
    serializer_class = GroupBuyCampaignSerializer

    def get_queryset(self):
        return selectors.campaigns(access_community(self.request.user, self.kwargs["slug"]))


class Estimate(APIView):
    @extend_schema(request=GroupBuyHomeSerializer, responses=GroupBuyEstimateSerializer(many=True))
    def post(self, request, slug, campaign_id):
        campaign = _campaign(request, slug, campaign_id, HOUSEHOLD)
        s = GroupBuyHomeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        home = s.home()
        if home["annual_use_kwh"] is None:
            site = _site(request, campaign, s.validated_data.get("site"))
            home["annual_use_kwh"] = (services.campaigns.meter_annual_use_kwh(site) if site else None) or 2700
        estimates = services.registration_estimate(
            campaign=campaign, packages=_packages(campaign, s.validated_data["packages"]), home=home
        )
        return Response(GroupBuyEstimateSerializer(estimates, many=True).data)


class RegistrationCreate(APIView):
    @extend_schema(request=GroupBuyHomeSerializer, responses={201: GroupBuyEstimateSerializer(many=True)})
    def post(self, request, slug, campaign_id):
        campaign = _campaign(request, slug, campaign_id, HOUSEHOLD)
        s = GroupBuyHomeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        reg, estimates = services.registration_submit(
            campaign=campaign,
            user=request.user,
            site=_site(request, campaign, s.validated_data.get("site")),
            packages=_packages(campaign, s.validated_data["packages"]),
            home=s.home(),
            actor=request.user,
        )
        return Response(
            {"registration": reg.pk, "estimates": GroupBuyEstimateSerializer(estimates, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class MyOffers(generics.ListAPIView):
    serializer_class = GroupBuyOfferSerializer

    def get_queryset(self):
        campaign = _campaign(self.request, self.kwargs["slug"], self.kwargs["campaign_id"], HOUSEHOLD)
        return Offer.objects.filter(
            registration__campaign=campaign, registration__user=self.request.user
        ).select_related("installer", "package")


class OfferAccept(APIView):
    @extend_schema(request=None, responses=GroupBuyOfferSerializer)
    def post(self, request, slug, campaign_id, offer_id):
        campaign = _campaign(request, slug, campaign_id, HOUSEHOLD)
        offer = get_object_or_404(Offer, pk=offer_id, registration__campaign=campaign, registration__user=request.user)
        offer = services.offer_accept(offer=offer, user=request.user, actor=request.user)
        return Response(GroupBuyOfferSerializer(offer).data)


class BidSubmit(APIView):
    @extend_schema(request=GroupBuyBidInputSerializer, responses={201: dict})
    def post(self, request, slug, campaign_id, package_id):
        campaign = _campaign(request, slug, campaign_id, INSTALLER)
        package = get_object_or_404(Package, campaign=campaign, pk=package_id)
        s = GroupBuyBidInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        me = selectors.installer_for(request.user, campaign.community)
        if me is None:
            raise DomainError("Apply as an installer first: bids are accepted only after qualification.", field="tiers")
        tiers = [{"up_to": t["up_to"], "price_per_unit": t["price_per_unit"]} for t in s.validated_data["tiers"]]
        bid = services.bid_submit(package=package, installer=me, tiers=tiers, actor=request.user)
        return Response(
            {
                "bid": bid.pk,
                "submitted_at": bid.submitted_at,
                "tiers": bid.tiers,
                "sealed_until": campaign.bid_deadline,
            },
            status=status.HTTP_201_CREATED,
        )
