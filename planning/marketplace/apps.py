from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "planning.marketplace"
    label = "marketplace"
    verbose_name = "Project marketplace"
    default_auto_field = "django.db.models.BigAutoField"
