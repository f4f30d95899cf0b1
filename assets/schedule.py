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
]
