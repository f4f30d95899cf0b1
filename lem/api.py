"""REST API of the market (under /api/v1/communities/<slug>/market/).

Orders, market results, trades, settlements and statements. A household
sees its own orders, trades and settlements; results are public to the
community (pseudonymous); operators see every trade.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community.access import OPERATOR_ROLES, access_community, roles_in
from community.errors import DomainError
from community.params import query_time
from lem import selectors, services
from lem.models import ClearingRun, Order, Participant, SettlementLine, Trade


def _market(request, slug):
    community = access_community(request.user, slug)
    market = selectors.market_for(community)
    if market is None:
        raise Http404("This community has no market.")
    return market


def _me(request, market) -> Participant:
    p = selectors.participants_of(request.user, market)[:1]
    p = p[0] if p else None
    if p is None:
        raise DomainError("You do not trade in this market: join it first on the My market page.", code="forbidden")
    return p


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "id",
            "period_start",
            "side",
            "quantity_wh",
            "price",
            "status",
            "source",
            "submitted_at",
            "nominees",
            "max_co2_g_per_kwh",
            "renewable_only",
            "energy_source",
            "co2_g_per_kwh",
            "filled_wh",
        ]
        read_only_fields = fields


class OrderInputSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    side = serializers.CharField()
    quantity_wh = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=4)
    nominees = serializers.ListField(child=serializers.IntegerField(), required=False)
    max_co2_g_per_kwh = serializers.IntegerField(required=False, allow_null=True)
    renewable_only = serializers.BooleanField(required=False)
    energy_source = serializers.CharField(required=False)
    periods = serializers.IntegerField(required=False, help_text="Repeat for this many consecutive periods (1-48).")


class OrderChangeSerializer(serializers.Serializer):
    quantity_wh = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=4)


class OrderList(generics.ListAPIView):
    """My orders (newest first); POST places one for my site (with ``periods``
    > 1: the same order for that many consecutive periods, answered as
    ``{"orders": [...]}``; all or none are placed)."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        market = _market(self.request, self.kwargs["slug"])
        return Order.objects.filter(market=market, participant__site__occupants=self.request.user).order_by(
            "-period_start", "-id"
        )

    @extend_schema(request=OrderInputSerializer, responses={201: OrderSerializer})
    def post(self, request, slug):
        community = access_community(request.user, slug)
        market = selectors.market_for(community)
        if market is None:
            raise DomainError("This community has no local energy market to place orders in.", field="market")
        me = _me(request, market)
        s = OrderInputSerializer(data=request.data)
        if not s.is_valid():
            first = next(iter(s.errors))
            raise DomainError(f"{first}: {s.errors[first][0]}", field=first)
        d = s.validated_data
        orders = services.order_place_many(
            periods=d.get("periods", 1),
            participant=me,
            actor=request.user,
            side=d["side"],
            quantity_wh=d["quantity_wh"],
            price=d["price"],
            period_start=d["period_start"],
            source=Order.Source.API,
            nominees=d.get("nominees", []),
            max_co2_g_per_kwh=d.get("max_co2_g_per_kwh"),
            renewable_only=d.get("renewable_only", False),
            energy_source=d.get("energy_source", "solar"),
        )
        if "periods" in d and d["periods"] != 1:
            return Response({"orders": OrderSerializer(orders, many=True).data}, status=status.HTTP_201_CREATED)
        return Response(OrderSerializer(orders[0]).data, status=status.HTTP_201_CREATED)


class OrderDetail(APIView):
    serializer_class = OrderSerializer

    def _order(self, request, slug, order_id):
        market = _market(request, slug)
        return get_object_or_404(Order, market=market, pk=order_id, participant__site__occupants=request.user)

    def get(self, request, slug, order_id):
        return Response(OrderSerializer(self._order(request, slug, order_id)).data)

    @extend_schema(request=OrderChangeSerializer, responses={200: OrderSerializer})
    def patch(self, request, slug, order_id):
        order = self._order(request, slug, order_id)
        s = OrderChangeSerializer(data=request.data)
        if not s.is_valid():
            first = next(iter(s.errors))
            raise DomainError(f"{first}: {s.errors[first][0]}", field=first)
        order = services.order_update(order=order, actor=request.user, **s.validated_data)
        return Response(OrderSerializer(order).data)

    @extend_schema(responses={200: OrderSerializer})
    def delete(self, request, slug, order_id):
        order = services.order_cancel(order=self._order(request, slug, order_id), actor=request.user)
        return Response(OrderSerializer(order).data)


class ResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClearingRun
        fields = [
            "id",
            "period_start",
            "mechanism",
            "status",
            "clearing_price",
            "area_prices",
            "binding",
            "volume_wh",
            "orders_count",
            "message",
            "book_hash",
        ]
        read_only_fields = fields


class ResultList(generics.ListAPIView):
    """Clearing results per period (public to the community)."""

    serializer_class = ResultSerializer

    def get_queryset(self):
        market = _market(self.request, self.kwargs["slug"])
        qs = ClearingRun.objects.filter(market=market).order_by("-period_start")
        since = query_time(self.request.query_params, "since")
        if since:
            qs = qs.filter(period_start__gte=since)
        return qs


class TradeSerializer(serializers.ModelSerializer):
    buyer = serializers.CharField(source="buyer.pseudonym")
    seller = serializers.CharField(source="seller.pseudonym")

    class Meta:
        model = Trade
        fields = [
            "id",
            "period_start",
            "buyer",
            "seller",
            "quantity_wh",
            "buyer_price",
            "seller_price",
            "preference_round",
            "energy_source",
            "co2_g_per_kwh",
        ]
        read_only_fields = fields


class TradeList(generics.ListAPIView):
    """My trades; operators see every trade."""

    serializer_class = TradeSerializer

    def get_queryset(self):
        market = _market(self.request, self.kwargs["slug"])
        qs = Trade.objects.filter(market=market).select_related("buyer", "seller").order_by("-period_start", "id")
        if not (roles_in(self.request.user, market.community) & OPERATOR_ROLES):
            from django.db.models import Q

            qs = qs.filter(
                Q(buyer__site__occupants=self.request.user) | Q(seller__site__occupants=self.request.user)
            ).distinct()
        return qs


class SettlementSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="run.status")
    revision = serializers.IntegerField(source="run.revision")
    total = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = SettlementLine
        fields = [
            "period_start",
            "status",
            "revision",
            "bought_wh",
            "sold_wh",
            "import_wh",
            "export_wh",
            "from_supplier_wh",
            "to_supplier_wh",
            "local_cost",
            "local_income",
            "supplier_cost",
            "supplier_income",
            "fees",
            "discount",
            "total",
            "supplier_only",
            "periods",
        ]
        read_only_fields = fields


class SettlementList(generics.ListAPIView):
    """My settled days (newest first): one line per local day, its settled periods summed."""

    serializer_class = SettlementSerializer

    def get_queryset(self):
        market = _market(self.request, self.kwargs["slug"])
        return (
            SettlementLine.objects.filter(run__market=market, participant__site__occupants=self.request.user)
            .select_related("run")
            .order_by("-period_start")
        )


@extend_schema_serializer(component_name="MarketStatement")
class StatementSerializer(serializers.Serializer):
    month = serializers.DateField()
    bought_local_wh = serializers.IntegerField()
    sold_local_wh = serializers.IntegerField()
    from_supplier_wh = serializers.IntegerField()
    to_supplier_wh = serializers.IntegerField()
    local_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    local_income = serializers.DecimalField(max_digits=14, decimal_places=2)
    supplier_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    supplier_income = serializers.DecimalField(max_digits=14, decimal_places=2)
    fees = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2)
    membership_fee = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    supplier_only = serializers.DecimalField(max_digits=14, decimal_places=2)
    savings = serializers.DecimalField(max_digits=14, decimal_places=2)
    periods_settled = serializers.IntegerField()
    periods_pending = serializers.IntegerField()
    sources = serializers.ListField(child=serializers.DictField())


class StatementDetail(APIView):
    """My monthly statement (month = YYYY-MM)."""

    serializer_class = StatementSerializer

    @extend_schema(responses={200: StatementSerializer})
    def get(self, request, slug, month):
        market = _market(request, slug)
        mine = selectors.participants_of(request.user, market)
        me = mine[0] if mine else None
        if me is None:
            raise Http404("You do not trade in this market.")
        try:
            y, m = month.split("-")
            d = date(int(y), int(m), 1)
        except ValueError:
            raise DomainError("The month is YYYY-MM.", field="month") from None
        return Response(StatementSerializer(selectors.statement(me, d)).data)
