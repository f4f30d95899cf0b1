from django.urls import path

from lem import views, views_value

urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("my/", views.my_market, name="my"),
    path("my/orders/<int:order_id>/", views.order_action, name="order"),
    path("my/statements/<str:month>/", views.statement, name="statement"),
    path("rules/", views.rules, name="rules"),
    path("operator/", views.operator, name="operator"),
    path("value/", views_value.value, name="value"),
    path("value/mine/", views_value.value_household, name="value_household"),
    path("value/rules/<int:number>/", views_value.value_rule, name="value_rule"),
    path("my/order-preview/", views_value.order_preview, name="order_preview"),
]
