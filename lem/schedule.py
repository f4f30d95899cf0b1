"""The market's clock (registered by `manage.py setup_periodic_tasks`, UTC)."""

SCHEDULE = [
    {"name": "lem: agents place orders", "task": "lem.tasks.agents_due", "every_seconds": 60},
    {"name": "lem: clear due periods (gate closure)", "task": "lem.tasks.clear_due", "every_seconds": 60},
    {"name": "lem: settle delivered periods", "task": "lem.tasks.settle_due", "every_seconds": 300},
    {
        "name": "lem: monthly membership fees",
        "task": "lem.tasks.membership_fees",
        "crontab": {"minute": "30", "hour": "0"},  # daily: pro rata, trued up as days are traded
    },
]
