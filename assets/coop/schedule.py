"""The co-op's clock (registered by `manage.py setup_periodic_tasks`, UTC).

Revenue is posted for whole past months; the task is idempotent per society and
month, so running it daily from the 3rd picks up late meter data and late market
settlement without posting anything twice.
"""

SCHEDULE = [
    {
        "name": "coop: post last month's society revenue (energy, flexibility, local market)",
        "task": "assets.coop.tasks.revenue_post_last_month",
        "crontab": {"minute": "40", "hour": "4", "day_of_month": "3-10"},
    },
]
