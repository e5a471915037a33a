#!/usr/bin/env bash
# Times the AppHost the way a developer meets it: `dotnet run --project AppHost` (already built) until every resource
# is healthy, then Ctrl+C typed into a real terminal (tmux; a background job of a script ignores SIGINT) until no
# process of the run is left. BackupApi is the last resource to start (it waits for its sidecar and the worker, which
# wait for the scheduler and theirs), so its /health answering 200 means every resource is healthy.
#   bench/apphost-lifecycle.sh [runs]     (default 5; needs tmux and curl; uses ports 5080, 5090 and 15888)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dotnet build AppHost -c Release -nologo -clp:ErrorsOnly >/dev/null
data=$(mktemp -d)
trap 'tmux kill-session -t apphost-bench 2>/dev/null || true; rm -rf "$data"' EXIT
# Every process of a run names the AppHost's build output, the repository's Platform programs, or DCP.
left() { pgrep -f "$PWD/(AppHost|BackupApi|BackupWorker|Platform/(Sidecar|Scheduler))/bin/|aspire.hosting.orchestration|aspire.dashboard.sdk" || true; }
now() { date +%s.%N; }
printf '%-4s %-22s %-22s\n' run 'start→all healthy (s)' 'Ctrl+C→none left (s)'
for i in $(seq 1 "$runs"); do
  [ -z "$(left)" ] || { echo "processes of an earlier run are still alive: $(left)" >&2; exit 1; }
  t0=$(now)
  tmux new-session -d -s apphost-bench -x 200 -y 50 \
    "dotnet run --project AppHost -c Release --no-build -- --AppHost:DataDirectory=$data/run$i > $data/run$i.log 2>&1"
  until [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' http://localhost:5080/health)" = 200 ]; do
    (( $(echo "$(now) - $t0 > 120" | bc) )) && { echo "not healthy within 120 s; log: $data/run$i.log" >&2; exit 1; }
    sleep 0.1
  done
  t1=$(now)
  tmux send-keys -t apphost-bench C-c
  while [ -n "$(left)" ]; do
    (( $(echo "$(now) - $t1 > 60" | bc) )) && { echo "still running 60 s after Ctrl+C: $(left)" >&2; exit 1; }
    sleep 0.1
  done
  t2=$(now)
  tmux kill-session -t apphost-bench 2>/dev/null || true
  printf '%-4s %-22.2f %-22.2f\n' "$i" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
done
