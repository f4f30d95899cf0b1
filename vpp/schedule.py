"""The VPP's periodic tasks (collected by ``manage.py setup_periodic_tasks``)."""

SCHEDULE = [
    {
        "name": "vpp: dispatch closed loop",
        "task": "vpp.tasks.dispatch_tick",
        "every_seconds": 60,
        "description": "Start flexibility events, send each period's commands, re-dispatch shortfalls, settle.",
    },
]
