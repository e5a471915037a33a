#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the Debian packages the tests use (PostgreSQL server,
# Chromium, sqlite3, etcd, zstd, lz4) when run as root and Azurite from npm, builds once, runs every test project,
# and ends with the totals line "N passed, M failed[, K skipped]" summed over every test project.
set -uo pipefail
cd "$(dirname "$0")"

missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
# The command-line compressors the offsite benchmark compares with.
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v lz4 >/dev/null 2>&1 || missing+=(lz4)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || echo "warning: apt-get could not install ${missing[*]}; tests that need them will say so"
  else
    echo "warning: not root, cannot install ${missing[*]}; tests that need them will say so"
  fi
fi

# Azurite (Azure Storage emulator) for the offsite repository tests and the AppHost's --AppHost:Offsite, pinned, in a
# git-ignored folder of the repository; installed only when missing.
azurite_version=3.37.0
azurite_dir=.tools/azurite
if ! grep -qs "\"version\": \"$azurite_version\"" "$azurite_dir/node_modules/azurite/package.json"; then
  echo "Installing azurite@$azurite_version into $azurite_dir"
  npm install --prefix "$azurite_dir" --no-save --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >/dev/null \
    || echo "warning: npm could not install azurite; the offsite tests will be skipped"
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
dotnet build Aspire.sln -c Release -nologo -clp:ErrorsOnly || status=$?
if [ $status -eq 0 ]; then
  # One test project at a time: the integration suites start real processes and time triggers on 2 cores.
  for proj in $(find tests -name '*.Tests.csproj' | sort); do
    name=$(basename "$proj" .csproj)
    dotnet test "$proj" -c Release --no-build -nologo \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?
  done
fi

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  val() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(val passed)))
  failed=$((failed + $(val failed) + $(val error) + $(val timeout) + $(val aborted)))
  skipped=$((skipped + $(val notExecuted)))
done
# A build or runner failure with no failed test must still read as a failure.
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
if [ $skipped -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
exit $status
