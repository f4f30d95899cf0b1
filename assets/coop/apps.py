from django.apps import AppConfig


class CoopConfig(AppConfig):
    name = "assets.coop"
    label = "coop"
    verbose_name = "Community and corporate anchor assets"
