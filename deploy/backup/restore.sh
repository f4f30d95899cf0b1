#!/usr/bin/env bash
# Restore a dump into a NEW database and prove it: migrations current, the
# ledger's hash chains verify. Usage:
#   deploy/backup/restore.sh /var/backups/cem/cem-20261130T013000Z.dump cem_restored
# then point DATABASE_URL at cem_restored (or rename it) once it passes.
set -euo pipefail
DUMP="$1"
TARGET="$2"
APP_DIR="${APP_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
PY="${PY:-$APP_DIR/.venv/bin/python}"
PGURL_BASE="${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}"
createdb "$TARGET"
pg_restore --no-owner --exit-on-error --dbname="$TARGET" "$DUMP"
export DATABASE_URL="$PGURL_BASE/$TARGET"
cd "$APP_DIR"
"$PY" manage.py migrate --check           # the schema is the code's
"$PY" manage.py verify_ledger              # every community's chain verifies
echo "restored $DUMP into $TARGET: ledger verified"
