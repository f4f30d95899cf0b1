from django.urls import path

from community import public_views, views

app_name = "community"

urlpatterns = [
    path("", views.community_detail, name="detail"),
    path("members/", views.members, name="members"),
    path("network/", views.network, name="network"),
    path("sites/new/", views.site_create, name="site_create"),
    path("sites/<int:site_id>/", views.site_detail, name="site"),
    path("sites/<int:site_id>/edit/", views.site_edit, name="site_edit"),
    path("audit/", views.audit, name="audit"),
    path("ledger/", views.ledger, name="ledger"),
    path("public/", public_views.public_settings, name="public_settings"),
]
