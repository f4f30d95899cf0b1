from django.urls import path

from vpp import views

app_name = "vpp"

urlpatterns = [
    path("", views.index, name="index"),
    path("operator/", views.operator, name="operator"),
    path("buyer/", views.buyer, name="buyer"),
    path("rules/", views.rules, name="rules"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("events/<int:event_id>/report.csv", views.event_report_csv, name="event_report_csv"),
]
