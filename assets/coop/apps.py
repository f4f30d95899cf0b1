from django.apps import AppConfig


class CoopConfig(AppConfig):
    name = "assets.coop"
    label = "coop"
    verbose_name = "Co-op and benefit funds"
    default_auto_field = "django.db.models.BigAutoField"
