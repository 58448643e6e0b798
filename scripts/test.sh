#!/usr/bin/env bash
# The whole suite: import layers, then every test on SQLite, then again on a fresh PostgreSQL database.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
unset DATABASE_URL  # the first run is SQLite, whatever the shell had

$BIN/lint-imports || exit 1

# Redis on 127.0.0.1:6379 for the rate-limit tests (a database number of their own, their own keys only).
redis_up() { $BIN/python -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_connect_timeout=2).ping()" 2>/dev/null; }
if ! redis_up && command -v redis-server >/dev/null; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null && sleep 1
fi
redis_up || echo "!!! Redis is not answering on 127.0.0.1:6379: the rate-limit tests will fail"

echo "=== test run 1/2: SQLite"
$BIN/pytest -q -p no:cacheprovider "$@"
sqlite_rc=$?

pg_up() { $BIN/python - "$PG_HOST" "$PG_PORT" "$PG_USER" <<'PY'
import sys, psycopg
try:
    psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], dbname="postgres", connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
}
if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
  [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null && sleep 2
fi
if pg_up; then
  db="postal_test_$(date +%s)_$$"
  $BIN/python - "$PG_HOST" "$PG_PORT" "$PG_USER" "$db" create <<'PY'
import sys, psycopg
with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], dbname="postgres", autocommit=True) as c:
    c.execute(f'CREATE DATABASE "{sys.argv[4]}"')
PY
  echo "=== test run 2/2: PostgreSQL (fresh database $db)"
  DATABASE_URL="postgresql+psycopg://$PG_USER@$PG_HOST:$PG_PORT/$db" $BIN/pytest -q -p no:cacheprovider "$@"
  pg_rc=$?
  $BIN/python - "$PG_HOST" "$PG_PORT" "$PG_USER" "$db" <<'PY'
import sys, psycopg
with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], dbname="postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[4]}" WITH (FORCE)')
PY
else
  echo "!!! PostgreSQL is not answering on $PG_HOST:$PG_PORT: the PostgreSQL run was SKIPPED (SQLite only)"
  pg_rc=0
fi
[ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
