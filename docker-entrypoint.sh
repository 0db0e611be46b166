#!/bin/sh
# Migrations run only when asked: with many replicas, one release step should migrate, not each.
# They run as MIGRATION_DATABASE_URL's role when set (the schema's owner); the service itself then
# runs as DATABASE_URL's, a role with DML rights only, which cannot switch row-level security off.
set -eu
# glibc's allocator is left at its defaults on purpose: Argon2 takes 19 MiB per verification, and a
# fixed MALLOC_MMAP_THRESHOLD_ made every sign-in map and fault in that memory afresh (a third of
# the machine's hashing throughput); by default a worker keeps the block and reuses it.
if [ "${MIGRATE_ON_START:-0}" = "1" ]; then
  DATABASE_URL="${MIGRATION_DATABASE_URL:-${DATABASE_URL:-}}" python manage.py migrate --noinput
fi
exec gunicorn config.wsgi:application \
  --bind "0.0.0.0:${PORT:-8000}" \
  --workers "${WEB_CONCURRENCY:-4}" \
  --access-logfile - \
  --logger-class config.gunicorn_logging.AccessLogger \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
  --timeout 30
