"""The balancing controller's clock (registered by `manage.py setup_periodic_tasks`, UTC)."""

SCHEDULE = [
    {"name": "balancing: corrective step", "task": "balancing.tasks.control_all", "every_seconds": 60},
    {
        "name": "balancing: re-solve schedules (MPC)",
        "task": "balancing.tasks.schedules_due",
        "crontab": {"minute": "*/15"},
    },
]
