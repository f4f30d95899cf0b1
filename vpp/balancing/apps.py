from django.apps import AppConfig


class BalancingConfig(AppConfig):
    name = "vpp.balancing"
    label = "balancing"
    verbose_name = "Self-balancing network"
    default_auto_field = "django.db.models.BigAutoField"
