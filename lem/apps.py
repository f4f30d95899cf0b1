from django.apps import AppConfig


class LemConfig(AppConfig):
    name = "lem"
    verbose_name = "Local energy market"
