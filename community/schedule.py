SCHEDULE = [
    {
        "name": "community: verify every ledger's hash chain",
        "task": "community.tasks.verify_ledgers",
        "crontab": {"minute": "15", "hour": "3"},
        "description": "Nightly proof that no journal entry was altered, removed or unbalanced.",
    },
]
