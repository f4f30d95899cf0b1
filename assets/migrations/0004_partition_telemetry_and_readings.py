"""Monthly range partitions for telemetry and interval readings (issue 16).

PostgreSQL only (SQLite keeps plain tables; this migration does nothing
there). Each table becomes ``PARTITION BY RANGE`` on its time column with a
partition per calendar month (UTC) that holds data, the current month and
three ahead, and a DEFAULT partition for anything else; the beat task
``assets.tasks.partitions_ensure`` keeps creating months ahead. Keys include
the partition key, as PostgreSQL requires: primary key (id, <time>), unique
(device, ts) / (meter, period_start) as before. Telemetry gets a BRIN index on
ts; ids keep coming from a sequence owned by the column.
"""

from django.db import migrations

TABLES = {
    # table: (time column, unique constraint, unique columns, fk column, fk table, extra index SQL)
    "assets_telemetry": (
        "ts",
        "telemetry_unique_ts",
        "device_id, ts",
        "device_id",
        "assets_device",
        ['CREATE INDEX "telemetry_ts_brin" ON "assets_telemetry" USING brin ("ts")'],
    ),
    "assets_intervalreading": (
        "period_start",
        "reading_unique_period",
        "meter_id, period_start",
        "meter_id",
        "assets_meter",
        ['CREATE INDEX "reading_period_idx" ON "assets_intervalreading" ("period_start", "meter_id")'],
    ),
}
MONTHS_AHEAD = 3


def _months(cur, table, key):
    cur.execute(
        f"SELECT DISTINCT date_trunc('month', \"{key}\" AT TIME ZONE 'UTC') FROM \"{table}\" "
        "UNION SELECT date_trunc('month', (now() AT TIME ZONE 'UTC') + make_interval(months => g)) "
        f"FROM generate_series(0, {MONTHS_AHEAD}) g ORDER BY 1"
    )
    return [r[0] for r in cur.fetchall()]


def partition(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cur:
        for table, (key, uname, ucols, fk, fk_table, extra) in TABLES.items():
            flat = f"{table}_flat"
            cur.execute(f'ALTER TABLE "{table}" RENAME TO "{flat}"')
            cur.execute(
                f'CREATE TABLE "{table}" (LIKE "{flat}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS) '
                f'PARTITION BY RANGE ("{key}")'
            )
            # the id default is set below, from a sequence of the new table's own
            cur.execute(f'ALTER TABLE "{table}" ALTER COLUMN "id" DROP DEFAULT')
            cur.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
            for m in _months(cur, flat, key):
                name = f"{table}_p{m:%Y%m}"
                cur.execute(
                    f'CREATE TABLE "{name}" PARTITION OF "{table}" FOR VALUES FROM '
                    "(%s::timestamp AT TIME ZONE 'UTC') TO ((%s::timestamp + interval '1 month') AT TIME ZONE 'UTC')",
                    [m, m],
                )
            cur.execute(f'INSERT INTO "{table}" SELECT * FROM "{flat}"')
            cur.execute(f'SELECT coalesce(max(id), 0) FROM "{flat}"')
            last_id = cur.fetchone()[0]
            cur.execute(f'DROP TABLE "{flat}"')  # its identity sequence goes with it
            seq = f"{table}_id_seq"
            cur.execute(f'CREATE SEQUENCE "{seq}" AS bigint OWNED BY "{table}"."id"')
            if last_id:
                cur.execute("SELECT setval(%s, %s)", [seq, last_id])
            cur.execute(f'ALTER TABLE "{table}" ALTER COLUMN "id" SET DEFAULT nextval(\'"{seq}"\')')
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ("id", "{key}")')
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{uname}" UNIQUE ({ucols})')
            cur.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{fk}_fk_{fk_table}_id" FOREIGN KEY ("{fk}") '
                f'REFERENCES "{fk_table}" ("id") DEFERRABLE INITIALLY DEFERRED'
            )
            for sql in extra:
                cur.execute(sql)
            cur.execute(f'ANALYZE "{table}"')


def unpartition(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cur:
        for table, (_key, uname, ucols, fk, fk_table, _extra) in TABLES.items():
            part = f"{table}_part"
            seq = f"{table}_id_seq"
            cur.execute(f'ALTER TABLE "{table}" RENAME TO "{part}"')
            cur.execute(f'CREATE TABLE "{table}" (LIKE "{part}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
            cur.execute(f'ALTER SEQUENCE "{seq}" OWNED BY "{table}"."id"')
            cur.execute(f'INSERT INTO "{table}" SELECT * FROM "{part}"')
            cur.execute(f'DROP TABLE "{part}" CASCADE')
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ("id")')
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{uname}" UNIQUE ({ucols})')
            cur.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{fk}_fk_{fk_table}_id" FOREIGN KEY ("{fk}") '
                f'REFERENCES "{fk_table}" ("id") DEFERRABLE INITIALLY DEFERRED'
            )
            cur.execute(f'CREATE INDEX "{table}_{fk}_idx" ON "{table}" ("{fk}")')
            if table == "assets_intervalreading":
                cur.execute(f'CREATE INDEX "reading_period_idx" ON "{table}" ("period_start", "meter_id")')


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("assets", "0003_rejected_payload_format"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
