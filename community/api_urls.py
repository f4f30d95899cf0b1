from django.urls import path

from community import api

app_name = "community-api"

urlpatterns = [
    path("me/data/", api.MyDataView.as_view(), name="my-data"),
    path("communities/", api.CommunityList.as_view(), name="community-list"),
    path("communities/<slug:slug>/", api.CommunityDetail.as_view(), name="community-detail"),
    path("communities/<slug:slug>/memberships/", api.MembershipList.as_view(), name="membership-list"),
    path("communities/<slug:slug>/network-nodes/", api.NetworkNodeList.as_view(), name="networknode-list"),
    path("communities/<slug:slug>/sites/", api.SiteList.as_view(), name="site-list"),
    path("communities/<slug:slug>/sites/<int:site_id>/", api.SiteDetail.as_view(), name="site-detail"),
]
