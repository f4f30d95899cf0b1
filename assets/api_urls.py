from django.urls import path

from assets import api

app_name = "assets-api"

urlpatterns = [
    path("communities/<slug:slug>/devices/", api.DeviceList.as_view(), name="device-list"),
    path("communities/<slug:slug>/devices/<int:device_id>/", api.DeviceDetail.as_view(), name="device-detail"),
    path("communities/<slug:slug>/devices/<int:device_id>/limits/", api.DeviceLimits.as_view(), name="device-limits"),
    path("communities/<slug:slug>/readings/", api.ReadingList.as_view(), name="reading-list"),
    path("communities/<slug:slug>/commands/", api.CommandList.as_view(), name="command-list"),
]
