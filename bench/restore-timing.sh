#!/usr/bin/env bash
# Times a restore through BackupWorker (POST /restores: for SQLite one read of the backup that hashes and copies it,
# then fsync beside integrity_check, then rename; checksum check, CREATE DATABASE, pg_restore, rename for PostgreSQL)
# of a ~100 MB SQLite database and a ~100 MB PostgreSQL database, beside peers measured in the same run: `sqlite3 .restore` + sync and `cp` + sync of the backup file,
# and `createdb` + plain `pg_restore` by hand; and a SQLite `replace` over the live database (safety copy, then SQLite's
# backup API into the live file, then integrity_check and the manifest) beside `sqlite3 live.db .restore` over a copy.
#   bench/restore-timing.sh [runs]     (default 3; needs sqlite3, curl and Debian's PostgreSQL 15 server; root runs the
#                                       server as the postgres user)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-3}
pgbin=/usr/lib/postgresql/15/bin
dotnet build BackupWorker -c Release -nologo -clp:ErrorsOnly >/dev/null
work=$(mktemp -d /tmp/restore-bench.XXXXXX)
chmod 755 "$work"
worker_pid= pg_started=
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  [ -n "$pg_started" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
mb() { echo "scale=1; $(stat -c %s "$1") / 1048576" | bc; }

echo "preparing ~100 MB databases in $work ..."
sqlite3 "$work/source.db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT NOT NULL);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 380000)
  INSERT INTO items SELECT x, 'item ' || x, hex(randomblob(110)) FROM c; CREATE INDEX items_by_name ON items(name);"

pgport=$(free_port)
mkdir "$work/pg" "$work/pgsock" && { [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg" "$work/pgsock" || true; }
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pgsock/log" -w -o "-p $pgport -k $work/pgsock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
pg_started=1
psql_() { psql -h 127.0.0.1 -p "$pgport" -U postgres -v ON_ERROR_STOP=1 -At "$@"; }
psql_ -d postgres -c "CREATE DATABASE shop" >/dev/null
psql_ -d shop -c "CREATE TABLE items(id int PRIMARY KEY, name text NOT NULL, payload text NOT NULL);
  INSERT INTO items SELECT g, 'item ' || g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) FROM generate_series(1, 490000) g;
  CREATE INDEX items_by_name ON items(name);" >/dev/null
pg_size=$(psql_ -d postgres -c "SELECT round(pg_database_size('shop') / 1048576.0, 1)")

port=$(free_port)
(cd "$work" && ASPNETCORE_URLS="http://127.0.0.1:$port" Backup__DataDirectory="$work/data" Demo__Enabled=false \
  Backup__Databases__lite__Provider=sqlite Backup__Databases__lite__ConnectionString="Data Source=$work/source.db" \
  Backup__Databases__shop__Provider=postgres Backup__Databases__shop__ConnectionString="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=shop" \
  DAPR_GRPC_ENDPOINT="http://127.0.0.1:$(free_port)" OTEL_EXPORTER_OTLP_ENDPOINT= Logging__LogLevel__Default=Warning \
  exec dotnet "$repo/BackupWorker/bin/Release/net10.0/BackupWorker.dll" > "$work/worker.log" 2>&1) &
worker_pid=$!
api="http://127.0.0.1:$port"
for _ in $(seq 1 300); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/health")" = 200 ] && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/health")" = 200 ] || { echo "BackupWorker did not start: $(tail -20 "$work/worker.log")" >&2; exit 1; }
backup() { curl -sf -X POST "$api/job/$1" -H 'content-type: application/json' \
  -d "{\"task\":\"db-backup\",\"metadata\":{\"DBName\":\"$2\",\"BackupLocation\":\"backups/$2\"}}"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
lite=$(backup bench-lite lite); lite_id=$(echo "$lite" | field id); lite_file=$(echo "$lite" | field file)
shop=$(backup bench-shop shop); shop_id=$(echo "$shop" | field id); shop_file=$(echo "$shop" | field file)
restore() { local t0 code; t0=$(now)
  code=$(curl -s -o "$work/restore.json" -w '%{http_code}' -X POST "$api/restores" -H 'content-type: application/json' -d "$1")
  [ "$code" = 202 ] || { echo "restore refused ($code): $(cat "$work/restore.json")" >&2; exit 1; }
  # Accepted: polled until it has ended.
  local id; id=$(field id < "$work/restore.json")
  while [ "$(field outcome < "$work/restore.json")" = Running ] || [ "$(field outcome < "$work/restore.json")" = Queued ]; do
    sleep 0.05; curl -sf -o "$work/restore.json" "$api/restores/$id"; done
  [ "$(field outcome < "$work/restore.json")" = Succeeded ] || { echo "restore failed: $(cat "$work/restore.json")" >&2; exit 1; }
  # The worker's own start and end of the run: polling through curl and python costs more than the restore under load.
  python3 -c "import json, re, sys, datetime
r = json.load(open(sys.argv[1])); t = lambda s: datetime.datetime.fromisoformat(re.sub(r'(\.\d{6})\d+', r'\1', s).replace('Z', '+00:00'))
print((t(r['endedAt']) - t(r['startedAt'])).total_seconds())" "$work/restore.json"; }
timed() { local t0; t0=$(now); "$@" >/dev/null; echo "$(now) - $t0" | bc; }

echo "SQLite: database $(mb "$work/source.db") MB, backup $(mb "$lite_file") MB.   PostgreSQL: database ${pg_size} MB, custom-format dump $(mb "$shop_file") MB"
printf '%-4s %-16s %-20s %-14s %-20s %-24s %-22s %-34s %s\n' run 'sqlite ours (s)' '.restore+sync (s)' 'cp+sync (s)' \
  'sqlite ours replace (s)' 'sqlite3 .restore over (s)' 'postgres ours (s)' 'postgres createdb+pg_restore (s)' 'load avg'
cp "$work/source.db" "$work/live-peer.db"
for i in $(seq 1 "$runs"); do
  ours=$(restore "{\"backupId\":\"$lite_id\",\"target\":\"bench/ours-$i.db\"}")
  # Followed by an fsync of the file, as ours ends (issue 26: within 1.5x of this).
  dot=$(timed sh -c "sqlite3 '$work/peer-$i.db' \".restore '$lite_file'\" && sync '$work/peer-$i.db'")
  copy=$(timed sh -c "cp '$lite_file' '$work/copy-$i.db' && sync '$work/copy-$i.db'")
  # Over the live database itself: ours keeps a safety copy first and checks the result; the peer writes straight in.
  replace=$(restore "{\"backupId\":\"$lite_id\",\"replace\":true}")
  over=$(timed sqlite3 "$work/live-peer.db" ".restore '$lite_file'")
  rm -f "$work"/data/restores/safety-copies/*
  pg_ours=$(restore "{\"backupId\":\"$shop_id\",\"target\":\"shop_ours_$i\",\"create\":true}")
  pg_peer=$(timed sh -c "createdb -h 127.0.0.1 -p $pgport -U postgres -T template0 shop_peer_$i && pg_restore -h 127.0.0.1 -p $pgport -U postgres --exit-on-error -d shop_peer_$i '$shop_file'")
  printf '%-4s %-16.2f %-20.2f %-14.2f %-20.2f %-24.2f %-22.2f %-34.2f %s\n' "$i" "$ours" "$dot" "$copy" "$replace" "$over" "$pg_ours" "$pg_peer" "$(cut -d' ' -f1 /proc/loadavg)"
  rm -f "$work/peer-$i.db" "$work/copy-$i.db" "$work/data/restores/bench/ours-$i.db"
  psql_ -d postgres -c "DROP DATABASE shop_ours_$i" -c "DROP DATABASE shop_peer_$i" >/dev/null
done
