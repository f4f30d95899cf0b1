from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "Communities, sites, network and ledger"

    def ready(self) -> None:
        from community.charts import register_plotly_template

        register_plotly_template()
