"""REST API for the marketplace (under /api/v1/communities/<slug>/projects/).

Open calls and funded grants for everyone in the community; an applicant's own
proposals; a reviewer's queue and score submission; pledges. Bad input answers
400 with the service's message (community.api_errors)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community.access import access_community
from community.errors import DomainError
from community.models import Role

from . import selectors, services
from .models import Call, Campaign, Criterion, Grant, Pledge, Proposal, ReviewAssignment


def _error(exc: DomainError) -> Response:
    return Response({"detail": exc.message, "field": exc.field}, status=status.HTTP_400_BAD_REQUEST)


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = ["id", "name", "weight", "scale_max", "guidance"]


class CallSerializer(serializers.ModelSerializer):
    fund = serializers.CharField(source="fund.name")
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "title",
            "fund",
            "objectives",
            "budget",
            "max_award",
            "opens_at",
            "deadline",
            "full_deadline",
            "stages",
            "community_review",
            "support",
            "eligibility",
            "criteria",
        ]


class CallList(generics.ListAPIView):
    serializer_class = CallSerializer
    pagination_class = None

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return selectors.open_calls(community).prefetch_related("criteria")


class ProposalSerializer(serializers.ModelSerializer):
    call = serializers.CharField(source="call.title")

    class Meta:
        model = Proposal
        fields = [
            "id",
            "call",
            "title",
            "stage",
            "status",
            "requested",
            "submitted_at",
            "decided_at",
            "decision_message",
        ]


class MyProposals(generics.ListAPIView):
    serializer_class = ProposalSerializer
    pagination_class = None

    def get_queryset(self):
        community = access_community(self.request.user, self.kwargs["slug"])
        return selectors.my_proposals(community, self.request.user)


@extend_schema_serializer(component_name="MarketplaceGrant")
class GrantSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="proposal.title")
    recipient = serializers.CharField(source="proposal.organisation")
    call = serializers.CharField(source="call.title")
    paid = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    milestones_met = serializers.IntegerField(read_only=True)
    milestones_total = serializers.IntegerField(read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "title",
            "recipient",
            "call",
            "amount",
            "paid",
            "status",
            "awarded_at",
            "milestones_met",
            "milestones_total",
            "outcomes",
            "lessons",
        ]


class FundedGrants(generics.ListAPIView):
    serializer_class = GrantSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.funded_projects(access_community(self.request.user, self.kwargs["slug"]))


class ReviewIn(serializers.Serializer):
    scores = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="criterion id → score")
    recommendation = serializers.ChoiceField(choices=["fund", "changes", "no"])
    comment_panel = serializers.CharField(required=False, allow_blank=True, default="")
    comment_applicant = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewSubmit(APIView):
    @extend_schema(request=ReviewIn, responses={201: None})
    def post(self, request, slug: str, assignment_id: int):
        community = access_community(request.user, slug, [Role.REVIEWER])
        a = get_object_or_404(
            ReviewAssignment, proposal__call__community=community, pk=assignment_id, reviewer=request.user
        )
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            r = services.review_submit(assignment=a, actor=request.user, **data.validated_data)
        except DomainError as exc:
            return _error(exc)
        return Response({"id": r.pk, "weighted_total": str(r.weighted_total)}, status=status.HTTP_201_CREATED)


class PledgeIn(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    token = serializers.CharField(max_length=64, help_text="A fresh random string per pledge: a retry pledges once.")


class PledgeOut(serializers.ModelSerializer):
    class Meta:
        model = Pledge
        fields = ["id", "amount", "status", "pledged_at"]


class PledgeCreate(APIView):
    @extend_schema(request=PledgeIn, responses={201: PledgeOut})
    def post(self, request, slug: str, campaign_id: int):
        community = access_community(request.user, slug)
        campaign = get_object_or_404(Campaign, community=community, pk=campaign_id)
        data = PledgeIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pledge = services.pledge_create(campaign=campaign, backer=request.user, **data.validated_data)
        except DomainError as exc:
            return _error(exc)
        return Response(PledgeOut(pledge).data, status=status.HTTP_201_CREATED)
