#!/usr/bin/env bash
# admin backup and admin restore of a SQLite data dir with N resources
# (default 10,000), each with one run of EVENTS (20) events and a local state
# file (bench/backup.py seeds them). The backup runs against the live server
# (warm page cache: the store was just written); the restore goes into a new
# dir. Wall time and archive size, and separately the Argon2id key
# derivation (MODERATE: 256 MiB) that each of them pays once: timed as a
# restore with a wrong passphrase, which stops right after it.
# Figures only (bench_result backup_10k, restore_10k).
#
#   bench/backup.sh        # env: N (10000), EVENTS (20)
BENCH_NAME=backup
source "$(dirname "$0")/lib.sh"
N="${N:-10000}"
EVENTS="${EVENTS:-20}"
# Keys in the data dir, as a default install has them (lib.sh gives them by env).
unset CLOUDPLANE_JWT_SECRET CLOUDPLANE_VAULT_KEYS
export CLOUDPLANE_WORKERS=0 CLOUDPLANE_BACKUP_PASSPHRASE="bench passphrase $(head -c 8 /dev/urandom | base64)"

ms() { date +%s%3N; }

start_serve live
db_bytes=$(python3 bench/backup.py "$url" "$work/live" "$N" "$EVENTS")
echo "backup: $N resources, $((N * EVENTS)) run events, $N state files; store $((db_bytes / 1048576)) MiB"

t0=$(ms)
"$BIN" admin backup "$work/b.cpb" --data-dir "$work/live" >"$work/backup.out"
t1=$(ms)
size=$(stat -c %s "$work/b.cpb")
t2=$(ms)
"$BIN" admin restore "$work/b.cpb" --data-dir "$work/restored" >"$work/restore.out"
t3=$(ms)
CLOUDPLANE_BACKUP_PASSPHRASE=wrong "$BIN" admin restore "$work/b.cpb" --data-dir "$work/none" 2>/dev/null && exit 1
t4=$(ms)
echo "  $(head -n 1 "$work/backup.out")"
echo "  Argon2id key derivation alone: $((t4 - t3)) ms (in each figure below)"
bench_result backup_10k "$((t1 - t0)) ms wall, archive $((size / 1048576)) MiB (server running, warm)" -
bench_result restore_10k "$((t3 - t2)) ms wall into an empty dir (integrity check included)" -
