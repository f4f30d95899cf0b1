SCHEDULE = [
    {
        "name": "marketplace: close crowdfunding at its deadline, remind grantees of reports due",
        "task": "planning.marketplace.tasks.marketplace_sweep",
        "every_seconds": 900,
        "description": "Refunds all-or-nothing pledges when the target is missed; monitoring report reminders.",
    },
]
