from django.urls import path

from . import api

P = "communities/<slug:slug>/projects/"

urlpatterns = [
    path(P + "calls/", api.CallList.as_view(), name="call-list"),
    path(P + "proposals/mine/", api.MyProposals.as_view(), name="my-proposals"),
    path(P + "grants/", api.FundedGrants.as_view(), name="grant-list"),
    path(P + "reviews/<int:assignment_id>/", api.ReviewSubmit.as_view(), name="review-submit"),
    path(P + "crowdfunding/<int:campaign_id>/pledges/", api.PledgeCreate.as_view(), name="pledge-create"),
]
