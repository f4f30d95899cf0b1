SCHEDULE = [
    {
        "name": "assets: readings from telemetry (last 3 h)",
        "task": "assets.tasks.refresh_recent_readings",
        "every_seconds": 300,
    },
    {
        "name": "assets: command time-outs and resends",
        "task": "assets.tasks.commands_housekeeping",
        "every_seconds": 30,
    },
    {
        "name": "assets: telemetry retention (TELEMETRY_RETENTION_DAYS)",
        "task": "assets.tasks.telemetry_retention",
        "crontab": {"minute": "17", "hour": "3"},
    },
    {
        "name": "assets: monthly partitions created ahead (PostgreSQL)",
        "task": "assets.tasks.partitions_ensure",
        "crontab": {"minute": "7", "hour": "2"},
    },
]
