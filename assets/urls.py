from django.urls import path

from assets import views

app_name = "assets"

urlpatterns = [
    path("", views.index, name="index"),
    path("sites/<int:site_id>/", views.site, name="site"),
    path("devices/<int:device_id>/credentials/", views.device_rotate, name="device_rotate"),
    path("operator/", views.operator, name="operator"),
    path("readings/import/", views.readings_import, name="readings_import"),
]
