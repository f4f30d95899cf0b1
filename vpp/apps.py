from django.apps import AppConfig


class VppConfig(AppConfig):
    name = "vpp"
    verbose_name = "Flexibility VPP and self-balancing network"
