"""The network operator's API (under /api/v1/communities/<slug>/grid/).

Token-authenticated (``Authorization: Token <key>``, from /api/v1/auth/token/)
or a browser session; only a network operator (DSO) of the community, and only
for the nodes it operates (``NodeOperator``): anything else is 403/404.

- ``statements/``: list and publish constraint statements (a reference used
  before publishes the next version); ``statements/<id>/withdraw/``.
- ``nodes/``: forecast and measured net flow per node, limits in force,
  headroom, storage flexibility.
- ``responses/``: what the platform did about each statement.
Limits in kW as decimals (the statement's own unit), flows in W, time UTC.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from community import services as community_services
from community.access import access_community, roles_in
from community.errors import DomainError
from community.models import ConstraintStatement, NetworkNode, Role
from vpp.balancing import selectors, services
from vpp.balancing.models import Segment


def _dso(request, slug):
    community = access_community(request.user, slug)
    if Role.NETWORK_OPERATOR not in roles_in(request.user, community):
        raise PermissionDenied("Only the community's network operator (DSO) uses this API.")
    return community, selectors.operated_nodes(request.user, community)


class StatementSerializer(serializers.ModelSerializer):
    node_code = serializers.CharField(source="node.code", read_only=True)

    class Meta:
        model = ConstraintStatement
        fields = [
            "id",
            "node",
            "node_code",
            "reference",
            "version",
            "horizon",
            "starts_at",
            "ends_at",
            "import_limit_kw",
            "export_limit_kw",
            "reason",
            "issued_at",
            "withdrawn_at",
        ]
        read_only_fields = ["id", "version", "issued_at", "withdrawn_at", "node_code"]
        extra_kwargs = {"node": {"queryset": NetworkNode.objects.none()}}


class StatementInput(serializers.Serializer):
    node = serializers.IntegerField(help_text="Network node id (one you operate).")
    reference = serializers.CharField(max_length=80)
    horizon = serializers.ChoiceField(choices=ConstraintStatement.Horizon.choices, default="day_ahead")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    # plain decimals: the service gives the clear error for a limit below zero
    import_limit_kw = serializers.DecimalField(max_digits=12, decimal_places=1)
    export_limit_kw = serializers.DecimalField(max_digits=12, decimal_places=1)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class StatementList(APIView):
    @extend_schema(responses=StatementSerializer(many=True), summary="Your constraint statements")
    def get(self, request, slug):
        community, nodes = _dso(request, slug)
        rows = selectors.statements_for_nodes(community, nodes.values_list("pk", flat=True))
        return Response(StatementSerializer(rows, many=True).data)

    @extend_schema(
        request=StatementInput,
        responses={201: StatementSerializer},
        summary="Publish a constraint statement (or the next version of a reference)",
    )
    def post(self, request, slug):
        community, nodes = _dso(request, slug)
        data = StatementInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        node = NetworkNode.objects.filter(community=community, pk=v["node"]).first()
        if node is None:
            raise DomainError(f"There is no network node {v['node']} in {community.name}.", field="node")
        if not nodes.filter(pk=node.pk).exists():
            raise PermissionDenied(f"You do not operate {node.name}.")
        v["node"] = node
        st = community_services.constraint_statement_issue(community=community, actor=request.user, **v)
        for seg in Segment.objects.filter(node_id=st.node_id):
            try:
                services.schedule_solve(segment=seg, trigger="constraint")
            except DomainError:
                pass  # the statement stands; the alarm on the segment says why it could not be planned
        return Response(StatementSerializer(st).data, status=status.HTTP_201_CREATED)


class StatementWithdraw(APIView):
    @extend_schema(request=None, responses=StatementSerializer, summary="Withdraw a statement (all its versions)")
    def post(self, request, slug, statement_id: int):
        community, nodes = _dso(request, slug)
        st = get_object_or_404(ConstraintStatement, community=community, pk=statement_id, node__in=nodes)
        st = community_services.constraint_statement_withdraw(statement=st, actor=request.user)
        return Response(StatementSerializer(st).data)


class NodeFlowSerializer(serializers.Serializer):
    node = serializers.IntegerField(source="node.pk")
    code = serializers.CharField(source="node.code")
    name = serializers.CharField(source="node.name")
    measured_net_w = serializers.IntegerField(source="measured_w", allow_null=True)
    forecast_net_w = serializers.ListField(
        source="forecast_w", child=serializers.IntegerField(), help_text="Next quarter-hours, from the schedule."
    )
    import_limit_w = serializers.IntegerField()
    export_limit_w = serializers.IntegerField()
    headroom_import_w = serializers.IntegerField(allow_null=True)
    headroom_export_w = serializers.IntegerField(allow_null=True)
    flexibility_up_w = serializers.IntegerField(help_text="More import the batteries behind it could take now.")
    flexibility_down_w = serializers.IntegerField(help_text="Less import / more export they could give now.")
    statement_ids = serializers.ListField(child=serializers.IntegerField())
    controlled = serializers.SerializerMethodField()

    def get_controlled(self, obj) -> bool:
        return obj.segment is not None


class NodeFlows(APIView):
    @extend_schema(responses=NodeFlowSerializer(many=True), summary="Forecast and measured flow, headroom, flexibility")
    def get(self, request, slug):
        community, nodes = _dso(request, slug)
        return Response(NodeFlowSerializer(selectors.node_flows(community, nodes=nodes), many=True).data)


class ResponseSerializer(serializers.Serializer):
    statement = StatementSerializer()
    schedules = serializers.IntegerField(help_text="Schedules (MPC solves) that obeyed it.")
    steps = serializers.IntegerField(help_text="Corrective steps that obeyed it.")
    commands = serializers.IntegerField(help_text="Battery instructions sent while it was in force.")
    peak_import_w = serializers.IntegerField(allow_null=True)
    peak_export_w = serializers.IntegerField(allow_null=True)
    minutes_at_limit = serializers.FloatField()
    breached = serializers.BooleanField()


class Responses(APIView):
    @extend_schema(responses=ResponseSerializer(many=True), summary="What the platform did about each statement")
    def get(self, request, slug):
        community, nodes = _dso(request, slug)
        rows = selectors.statements_for_nodes(community, nodes.values_list("pk", flat=True))
        return Response(ResponseSerializer(selectors.constraint_responses(rows[:100]), many=True).data)
