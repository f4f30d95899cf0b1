"""Cross-process locks for work that two Celery workers may start at once
(issue 16): PostgreSQL transaction-scoped advisory locks, keyed by text.

    with transaction.atomic():
        if not advisory_lock(f"lem:clear:{market.pk}:{period_start:%Y%m%dT%H%M}", wait=False):
            return existing_run  # another worker is clearing it right now
        ...

The lock is held until the surrounding transaction ends (commit or
rollback), so a crashed worker never leaves it behind. On SQLite there is
nothing to do: a write transaction there is already exclusive (the
platform's connections use IMMEDIATE transactions), so the helpers return
True at once.
"""

from __future__ import annotations

from django.db import connection, transaction


def _key_sql() -> str:
    # hashtextextended: a 64-bit hash of the text key (PostgreSQL 11+)
    return "hashtextextended(%s, 0)"


def advisory_lock(key: str, *, wait: bool = True, using=None) -> bool:
    """Take the advisory lock ``key`` for the current transaction.

    ``wait=True`` blocks until it is free and returns True; ``wait=False``
    returns False at once if another transaction holds it. Must be called
    inside ``transaction.atomic()``."""
    conn = connection if using is None else transaction.get_connection(using)
    if conn.vendor != "postgresql":
        return True
    if not conn.in_atomic_block:
        raise RuntimeError("advisory_lock must be taken inside transaction.atomic()")
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with conn.cursor() as cur:
        cur.execute(f"SELECT {fn}({_key_sql()})", [key])
        row = cur.fetchone()
    return True if wait else bool(row[0])


def advisory_lock_held(key: str) -> bool:
    """Whether any session holds ``key`` now (for tests and diagnostics)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
            "((classid::bigint << 32) | objid::bigint) = (" + _key_sql() + ") )",
            [key],
        )
        return bool(cur.fetchone()[0])
