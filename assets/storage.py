"""Telemetry and readings at scale: monthly partitions on PostgreSQL, and
retention of raw telemetry (issues 9 §7 and 16).

On PostgreSQL ``assets_telemetry`` (by ``ts``) and ``assets_intervalreading``
(by ``period_start``) are declaratively range-partitioned by calendar month
(UTC), one table per month named ``<table>_pYYYYMM`` plus a ``_default``
partition that catches anything outside the months created so far (a clock
far behind, a historical import) so an insert never fails for want of a
partition. `partitions_ensure` creates the coming months ahead (a beat task)
and moves rows out of the default partition when their month is created.
Retention drops whole months of telemetry once all of the month is older than
``TELEMETRY_RETENTION_DAYS``, so it costs no vacuum and no long delete.

On SQLite the tables are plain and retention deletes rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from assets.models import Telemetry
from community.services.audit import audit_record

log = logging.getLogger(__name__)

# table -> partition key column
PARTITIONED = {"assets_telemetry": "ts", "assets_intervalreading": "period_start"}
MONTHS_AHEAD = 3


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def month_start(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC)
    return datetime(ts.year, ts.month, 1, tzinfo=UTC)


def add_months(ts: datetime, n: int) -> datetime:
    m = ts.year * 12 + ts.month - 1 + n
    return datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def is_partitioned(table: str) -> bool:
    if not is_postgres():
        return False
    with connection.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = %s", [table]
        )
        return cur.fetchone() is not None


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None: the default partition
    end: datetime | None
    rows: int  # an estimate (pg_class.reltuples), -1 if never analysed


def partitions(table: str) -> list[Partition]:
    """The partitions of ``table``, oldest first (the default partition last)."""
    if not is_partitioned(table):
        return []
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s
            """,
            [table],
        )
        rows = cur.fetchall()
    out = []
    for name, bound, tuples in rows:
        if bound == "DEFAULT":
            out.append(Partition(name, None, None, tuples))
            continue
        # FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00')
        lo, hi = bound.split("FROM ('", 1)[1].split("') TO ('", 1)
        out.append(Partition(name, _parse_bound(lo), _parse_bound(hi.rstrip("')")), tuples))
    return sorted(out, key=lambda p: (p.start is None, p.start or datetime.min.replace(tzinfo=UTC)))


def _parse_bound(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace(" ", "T"))
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def _create_month(cur, table: str, key: str, month: datetime) -> bool:
    """Create one month's partition, first moving its rows out of the default
    partition (PostgreSQL refuses to attach a range the default still holds)."""
    name = partition_name(table, month)
    cur.execute("SELECT 1 FROM pg_class WHERE relname = %s", [name])
    if cur.fetchone():
        return False
    lo, hi = month, add_months(month, 1)
    default = f"{table}_default"
    cur.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    cur.execute(
        f'WITH moved AS (DELETE FROM "{default}" WHERE "{key}" >= %s AND "{key}" < %s RETURNING *) '
        f'INSERT INTO "{name}" SELECT * FROM moved',
        [lo, hi],
    )
    cur.execute(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [lo, hi])
    return True


def partitions_ensure(*, now: datetime | None = None, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the monthly partitions from this month to ``months_ahead`` ahead,
    and one for every month the default partition holds rows of. Idempotent;
    nothing to do on SQLite. Returns the partitions created."""
    if not is_postgres():
        return []
    now = now or timezone.now()
    created = []
    for table, key in PARTITIONED.items():
        if not is_partitioned(table):
            continue
        with transaction.atomic(), connection.cursor() as cur:
            # one creator at a time (beat may overlap a manual run)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"partitions:{table}"])
            cur.execute(f"SELECT DISTINCT date_trunc('month', \"{key}\" AT TIME ZONE 'UTC') FROM \"{table}_default\"")
            months = {m.replace(tzinfo=UTC) for (m,) in cur.fetchall()}
            first = month_start(now)
            months |= {add_months(first, i) for i in range(months_ahead + 1)}
            for month in sorted(months):
                if _create_month(cur, table, key, month):
                    created.append(partition_name(table, month))
    if created:
        log.info("created partitions: %s", ", ".join(created))
    return created


@dataclass
class RetentionResult:
    cutoff: datetime
    dropped_partitions: list[str]
    deleted_rows: int


def telemetry_retention(*, days: int | None = None, now: datetime | None = None) -> RetentionResult:
    """Delete raw telemetry older than ``days`` (default TELEMETRY_RETENTION_DAYS).

    PostgreSQL: drops every monthly partition whose whole month is older than
    the cutoff, and deletes older rows from the default partition. SQLite (or
    an unpartitioned table): deletes rows in chunks. Interval readings derived
    from the telemetry are kept. Idempotent."""
    days = settings.TELEMETRY_RETENTION_DAYS if days is None else days
    if days < 1:
        raise ValueError("TELEMETRY_RETENTION_DAYS must be at least 1")
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    dropped: list[str] = []
    deleted = 0
    if is_partitioned("assets_telemetry"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["partitions:assets_telemetry"])
            for p in partitions("assets_telemetry"):
                if p.end is not None and p.end <= cutoff:
                    cur.execute(f'ALTER TABLE "assets_telemetry" DETACH PARTITION "{p.name}"')
                    cur.execute(f'DROP TABLE "{p.name}"')
                    dropped.append(p.name)
            cur.execute('DELETE FROM "assets_telemetry_default" WHERE ts < %s', [cutoff])
            deleted = cur.rowcount
    else:
        while True:
            ids = list(Telemetry.objects.filter(ts__lt=cutoff).values_list("id", flat=True)[:5000])
            if not ids:
                break
            deleted += Telemetry.objects.filter(id__in=ids).delete()[0]
    if dropped or deleted:
        audit_record(
            actor=None,
            action="assets.telemetry_retention",
            community=None,
            obj=None,
            summary=f"Telemetry before {cutoff:%Y-%m-%d %H:%M} UTC removed ({days} days kept): "
            f"{len(dropped)} monthly partitions dropped, {deleted} rows deleted",
        )
        log.info("telemetry retention: dropped %s, deleted %d rows", dropped, deleted)
    return RetentionResult(cutoff=cutoff, dropped_partitions=dropped, deleted_rows=deleted)
