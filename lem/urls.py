from django.urls import path

from lem import views

urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("my/", views.my_market, name="my"),
    path("my/orders/<int:order_id>/", views.order_action, name="order"),
    path("my/statements/<str:month>/", views.statement, name="statement"),
    path("rules/", views.rules, name="rules"),
    path("operator/", views.operator, name="operator"),
]
