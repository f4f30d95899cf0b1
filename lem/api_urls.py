from django.urls import path

from lem import api

urlpatterns = [
    path("communities/<slug:slug>/market/orders/", api.OrderList.as_view(), name="order-list"),
    path("communities/<slug:slug>/market/orders/<int:order_id>/", api.OrderDetail.as_view(), name="order-detail"),
    path("communities/<slug:slug>/market/results/", api.ResultList.as_view(), name="result-list"),
    path("communities/<slug:slug>/market/trades/", api.TradeList.as_view(), name="trade-list"),
    path("communities/<slug:slug>/market/settlements/", api.SettlementList.as_view(), name="settlement-list"),
    path(
        "communities/<slug:slug>/market/statements/<str:month>/", api.StatementDetail.as_view(), name="statement-detail"
    ),
]
