from django.apps import AppConfig


class PurchasingConfig(AppConfig):
    name = "assets.purchasing"
    label = "purchasing"
    verbose_name = "Collective purchasing"
    default_auto_field = "django.db.models.BigAutoField"
