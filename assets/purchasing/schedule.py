SCHEDULE = [
    {
        "name": "purchasing: yield checks three months after commissioning",
        "task": "assets.purchasing.tasks.yield_checks",
        "crontab": {"minute": "20", "hour": "4"},
    },
    {
        "name": "purchasing: expire offers past their decision window",
        "task": "assets.purchasing.tasks.expire_offers",
        "crontab": {"minute": "5", "hour": "0"},
    },
]
