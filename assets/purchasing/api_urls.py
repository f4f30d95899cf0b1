from django.urls import path

from . import api

P = "communities/<slug:slug>/buy/"
C = P + "campaigns/<int:campaign_id>/"

urlpatterns = [
    path(P + "campaigns/", api.CampaignList.as_view(), name="campaign-list"),
    path(C + "estimate/", api.Estimate.as_view(), name="estimate"),
    path(C + "registrations/", api.RegistrationCreate.as_view(), name="registration-create"),
    path(C + "offers/", api.MyOffers.as_view(), name="my-offers"),
    path(C + "offers/<int:offer_id>/accept/", api.OfferAccept.as_view(), name="offer-accept"),
    path(C + "packages/<int:package_id>/bids/", api.BidSubmit.as_view(), name="bid-submit"),
]
