from django.urls import path

from . import api

P = "communities/<slug:slug>/coop/"
S = P + "societies/<int:society_id>/"

urlpatterns = [
    path(P + "societies/", api.SocietyList.as_view(), name="society-list"),
    path(S + "offers/", api.OfferList.as_view(), name="offer-list"),
    path(S + "offers/<int:offer_id>/applications/", api.ApplicationCreate.as_view(), name="application-create"),
    path(S + "register/", api.Register.as_view(), name="register"),
    path(S + "annual-return/", api.AnnualReturn.as_view(), name="annual-return"),
    path(S + "distributions/preview/", api.DistributionPreview.as_view(), name="distribution-preview"),
    path(S + "distributions/", api.DistributionCommit.as_view(), name="distribution-commit"),
    path(P + "funds/", api.FundList.as_view(), name="fund-list"),
]
