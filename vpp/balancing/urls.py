from django.urls import path

from vpp.balancing import views

app_name = "balancing"

urlpatterns = [
    path("", views.index, name="index"),
    path("my/", views.household, name="household"),
    path("network/", views.constraints, name="constraints"),
    path("network/<int:statement_id>/withdraw/", views.constraint_withdraw, name="constraint_withdraw"),
    path("segments/<int:segment_id>/resolve/", views.resolve, name="resolve"),
]
