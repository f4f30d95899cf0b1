"""REST API for the co-op (under /api/v1/communities/<slug>/coop/)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community.access import access_community
from community.models import Role
from community.params import query_int

from . import selectors, services
from .models import Application, BenefitFund, FundGrant, ShareOffer, Society

TREASURER = [Role.TREASURER]
REGISTER_READERS = [Role.TREASURER, Role.AUDITOR]


class SocietySerializer(serializers.ModelSerializer):
    share_capital = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()

    class Meta:
        model = Society
        fields = [
            "id",
            "name",
            "kind",
            "registration_number",
            "share_price",
            "min_holding",
            "max_holding",
            "target_interest_rate",
            "max_interest_rate",
            "withdrawable",
            "transferable",
            "min_holding_period_years",
            "interest_day_count",
            "notice_period_days",
            "withdrawals_suspended",
            "share_capital",
            "members",
        ]

    def get_share_capital(self, obj) -> Decimal:
        return selectors.share_capital(obj)

    def get_members(self, obj) -> int:
        return selectors.active_member_count(obj)


class OfferSerializer(serializers.ModelSerializer):
    received = serializers.SerializerMethodField()

    class Meta:
        model = ShareOffer
        fields = [
            "id",
            "title",
            "code",
            "summary",
            "opens_on",
            "closes_on",
            "min_raise",
            "target_raise",
            "max_raise",
            "min_application",
            "max_application",
            "scale_back",
            "status",
            "allotted_on",
            "received",
        ]

    def get_received(self, obj) -> Decimal:
        return selectors.offer_stats(obj).paid


class ApplicationInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    full_name = serializers.CharField(required=False, default="")
    email = serializers.EmailField(required=False, default="")
    address = serializers.CharField(required=False, default="")
    postcode = serializers.CharField(required=False, default="")
    sort_code = serializers.CharField(required=False, default="")
    account_number = serializers.CharField(required=False, default="")


class ApplicationSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text="Where it stands: awaiting payment, part paid, paid ...")
    how_to_pay = serializers.SerializerMethodField(help_text="The society's bank account and the reference to use.")

    class Meta:
        model = Application
        fields = [
            "id",
            "reference",
            "full_name",
            "amount",
            "paid",
            "status",
            "state",
            "how_to_pay",
            "shares_allotted",
            "refund",
            "created_at",
        ]

    def get_how_to_pay(self, app: Application) -> str:
        return selectors.how_to_pay(app) if app.status == Application.Status.PENDING and app.owed else ""


class RegisterRowSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="member.number")
    name = serializers.CharField(source="member.full_name")
    status = serializers.CharField(source="member.status")
    admitted_on = serializers.DateField(source="member.admitted_on")
    ceased_on = serializers.DateField(source="member.ceased_on")
    shares = serializers.IntegerField()
    holding = serializers.DecimalField(max_digits=14, decimal_places=2)


class DistributionInputSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    interest_rate = serializers.DecimalField(max_digits=6, decimal_places=4, help_text="Fraction a year: 0.03 = 3%")
    fund_contribution = serializers.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    dividend_total = serializers.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))


class GrantSerializer(serializers.ModelSerializer):
    class Meta:
        model = FundGrant
        fields = ["id", "project", "recipient", "amount", "decided_on", "panel_note"]


class FundSerializer(serializers.ModelSerializer):
    balance = serializers.SerializerMethodField()
    paid_in = serializers.SerializerMethodField()
    grants = GrantSerializer(many=True, read_only=True)

    class Meta:
        model = BenefitFund
        fields = [
            "id",
            "kind",
            "name",
            "company_name",
            "asset_name",
            "capacity_kw",
            "pounds_per_mw_year",
            "profit_share",
            "paid_in",
            "balance",
            "grants",
        ]

    def get_balance(self, obj) -> Decimal:
        return selectors.fund_totals(obj)["balance"]

    def get_paid_in(self, obj) -> Decimal:
        return selectors.fund_totals(obj)["paid_in"]


def _society(request, slug, society_id, roles=None) -> Society:
    community = access_community(request.user, slug, roles)
    return get_object_or_404(Society, community=community, pk=society_id)


class SocietyList(generics.ListAPIView):
    serializer_class = SocietySerializer

    def get_queryset(self):
        return selectors.societies(access_community(self.request.user, self.kwargs["slug"]))


class OfferList(generics.ListAPIView):
    serializer_class = OfferSerializer

    def get_queryset(self):
        return _society(self.request, self.kwargs["slug"], self.kwargs["society_id"]).offers.all()


class ApplicationCreate(APIView):
    @extend_schema(request=ApplicationInputSerializer, responses={201: ApplicationSerializer})
    def post(self, request, slug, society_id, offer_id):
        society = _society(request, slug, society_id)
        offer = get_object_or_404(ShareOffer, society=society, pk=offer_id)
        s = ApplicationInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        app = services.application_submit(
            offer=offer, today=timezone.localdate(), user=request.user, **s.validated_data
        )
        return Response(ApplicationSerializer(app).data, status=status.HTTP_201_CREATED)


class Register(APIView):
    @extend_schema(responses=RegisterRowSerializer(many=True))
    def get(self, request, slug, society_id):
        society = _society(request, slug, society_id, REGISTER_READERS)
        return Response(RegisterRowSerializer(selectors.register_rows(society), many=True).data)


class AnnualReturn(APIView):
    @extend_schema(responses=dict)
    def get(self, request, slug, society_id):
        society = _society(request, slug, society_id, REGISTER_READERS)
        year = query_int(request.query_params, "year", timezone.localdate().year - 1, minimum=1990, maximum=2200)
        start, end = selectors.year_bounds(society, year)
        return Response(
            services.annual_return(society=society, year_start=start, year_end=end - timedelta(days=1)).as_dict()
        )


def _distribution_args(society, data):
    s = DistributionInputSerializer(data=data)
    s.is_valid(raise_exception=True)
    start, end = selectors.year_bounds(society, s.validated_data["year"])
    return {
        "start": start,
        "end": end,
        "interest_rate": s.validated_data["interest_rate"],
        "fund_contribution": s.validated_data["fund_contribution"],
        "dividend_total": s.validated_data["dividend_total"],
    }


class DistributionPreview(APIView):
    """Compute a distribution without writing anything."""

    @extend_schema(request=DistributionInputSerializer, responses=dict)
    def post(self, request, slug, society_id):
        society = _society(request, slug, society_id, TREASURER)
        p = selectors.distribution_preview(society=society, **_distribution_args(society, request.data))
        return Response(
            {
                "surplus": p.proposal.surplus,
                "max_rate": p.max_rate,
                "totals": {k: str(v) for k, v in p.totals.items()},
                "lines": [
                    {
                        "member": ln.member.number,
                        "interest": ln.interest,
                        "dividend": ln.dividend,
                        "choice": ln.choice,
                        "cash": ln.cash,
                        "new_shares": ln.new_shares,
                        "donated": ln.donated,
                    }
                    for ln in p.lines
                ],
            }
        )


class DistributionCommit(APIView):
    """Commit a distribution (all or nothing)."""

    @extend_schema(request=DistributionInputSerializer, responses=dict)
    def post(self, request, slug, society_id):
        society = _society(request, slug, society_id, TREASURER)
        dist = services.distribution_commit(
            society=society, today=timezone.localdate(), actor=request.user, **_distribution_args(society, request.data)
        )
        return Response(
            {
                "id": dist.pk,
                "interest_total": dist.interest_total,
                "cash_total": dist.cash_total,
                "reinvested_total": dist.reinvested_total,
                "donated_total": dist.donated_total,
            },
            status=status.HTTP_201_CREATED,
        )


class FundList(generics.ListAPIView):
    serializer_class = FundSerializer

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return selectors.funds(community).prefetch_related("grants")
