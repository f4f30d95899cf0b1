from django.urls import path

from vpp import api

app_name = "vpp-api"

urlpatterns = [
    path("communities/<slug:slug>/flex/requirements/", api.RequirementList.as_view(), name="requirement-list"),
    path("communities/<slug:slug>/flex/events/<int:event_id>/report/", api.EventReport.as_view(), name="event-report"),
    path("communities/<slug:slug>/flex/events/<int:event_id>/opt-out/", api.OptOut.as_view(), name="event-opt-out"),
    path("communities/<slug:slug>/flex/forecast/", api.Forecast.as_view(), name="forecast"),
    path("communities/<slug:slug>/flex/enrolments/", api.EnrolmentList.as_view(), name="enrolment-list"),
]
