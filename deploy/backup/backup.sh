#!/usr/bin/env bash
# Nightly logical backup: pg_dump custom format, kept BACKUP_KEEP_DAYS (default 14).
#   BACKUP_DIR=/var/backups/cem PGDATABASE=cem deploy/backup/backup.sh
set -euo pipefail
BACKUP_DIR="${BACKUP_DIR:-/var/backups/cem}"
DB="${PGDATABASE:-cem}"
KEEP="${BACKUP_KEEP_DAYS:-14}"
mkdir -p "$BACKUP_DIR"
out="$BACKUP_DIR/$DB-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --compress=6 --no-owner --file="$out.part" "$DB"
mv "$out.part" "$out"
# a dump that pg_restore cannot list is not a backup
pg_restore --list "$out" > /dev/null
find "$BACKUP_DIR" -name "$DB-*.dump" -mtime +"$KEEP" -delete
echo "$out"
