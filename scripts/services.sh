#!/usr/bin/env bash
# Starts and stops the services the tests need, on loopback, in a private dir:
# PostgreSQL (initdb into a temp dir), Redis, and moto (S3 + DynamoDB emulator).
# Usage: services.sh start DIR   -> prints `export VAR=...` lines for the test env
#        services.sh stop DIR
set -euo pipefail
cmd="$1"; dir="$2"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

wait_for() { # port name
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "services: $2 did not start on port $1" >&2; return 1
}

case "$cmd" in
start)
  mkdir -p "$dir"
  chmod 755 "$dir"
  # PostgreSQL refuses to run as root; the data dir belongs to the postgres user.
  pgport=$(free_port); bin=$(pg_bin)
  mkdir -p "$dir/pg"; [ "$(id -u)" -eq 0 ] && chown postgres "$dir/pg"
  as_pg "$bin/initdb" -D "$dir/pg/data" -U cloudplane --auth=trust -E UTF8 >"$dir/pg-init.log" 2>&1
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -k $dir/pg -c fsync=off -c max_connections=300" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$pgport" -U cloudplane cloudplane_test
  echo "export CP_TEST_PG_URL=postgres://cloudplane@127.0.0.1:$pgport/cloudplane_test"
  echo "export CP_TEST_PG_ADMIN=postgres://cloudplane@127.0.0.1:$pgport/postgres"

  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null
  wait_for "$rport" redis
  echo "export CP_TEST_REDIS_URL=redis://127.0.0.1:$rport"
  echo "export CP_TEST_REDIS_PORT=$rport"

  mport=$(free_port)
  nohup moto_server -H 127.0.0.1 -p "$mport" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  wait_for "$mport" moto
  echo "export CP_TEST_MOTO_URL=http://127.0.0.1:$mport"
  # The tofu s3 state backend test needs a bucket and a DynamoDB lock table.
  python3 -c '
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
boto3.client("s3", **kw).create_bucket(Bucket="cloudplane-state")
boto3.client("dynamodb", **kw).create_table(TableName="cloudplane-locks",
    KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST")
' "http://127.0.0.1:$mport" >>"$dir/moto.log" 2>&1 || { echo "services: cannot create the moto bucket/table" >&2; exit 1; }
  echo "export CP_TEST_S3_BUCKET=cloudplane-state"
  echo "export CP_TEST_DDB_TABLE=cloudplane-locks"
  ;;
stop)
  bin=$(pg_bin)
  [ -d "$dir/pg/data" ] && as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  [ -f "$dir/moto.pid" ] && kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
