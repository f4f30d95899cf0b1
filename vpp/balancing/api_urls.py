from django.urls import path

from vpp.balancing import api

urlpatterns = [
    path("communities/<slug:slug>/grid/statements/", api.StatementList.as_view(), name="statement-list"),
    path(
        "communities/<slug:slug>/grid/statements/<int:statement_id>/withdraw/",
        api.StatementWithdraw.as_view(),
        name="statement-withdraw",
    ),
    path("communities/<slug:slug>/grid/nodes/", api.NodeFlows.as_view(), name="node-flows"),
    path("communities/<slug:slug>/grid/responses/", api.Responses.as_view(), name="responses"),
]
