#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the Debian packages the tests use (PostgreSQL server,
# Chromium, sqlite3, etcd, zstd, lz4) when run as root, the Aspire CLI (a dotnet tool), Azurite and s3rver (from npm), builds
# once, runs every test project,
# and ends with the totals line "N passed, M failed[, K skipped]" summed over every test project.
set -uo pipefail
cd "$(dirname "$0")"
# The SDK reports its commands to Microsoft unless told not to; nothing of a test run leaves the machine.
export DOTNET_CLI_TELEMETRY_OPTOUT=1

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

# The tools the tests drive, each installed into a git-ignored folder of .tools only when missing; installed beside
# the build (they wait on the network and the disk, the build on the CPU).
install_tools() {
  # The Aspire CLI, a dotnet tool from the registry, for the tests that drive the app through it (AppHost.Tests'
  # AspireCliTests); installed into the git-ignored .tools/aspire only when missing.
  if [ ! -x .tools/aspire/aspire ]; then
    dotnet tool install Aspire.Cli --version 13.6.5 --tool-path .tools/aspire >/dev/null \
      || echo "warning: could not install the Aspire CLI; the tests that run it will say so"
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

  # s3rver (an S3 implementation in Node) for the S3 repository tests, pinned, in a git-ignored folder of the
  # repository; installed only when missing.
  s3rver_version=3.7.1
  s3rver_dir=.tools/s3rver
  if ! grep -qs "\"version\": \"$s3rver_version\"" "$s3rver_dir/node_modules/s3rver/package.json"; then
    echo "Installing s3rver@$s3rver_version into $s3rver_dir"
    npm install --prefix "$s3rver_dir" --no-save --no-audit --no-fund --loglevel=error "s3rver@$s3rver_version" >/dev/null \
      || echo "warning: npm could not install s3rver; the S3 repository tests will be skipped"
  fi
}
install_tools &
tools=$!

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
dotnet build Aspire.sln -c Release -nologo -clp:ErrorsOnly || status=$?
wait "$tools"
if [ $status -eq 0 ]; then
  # The test projects run in TEST_LANES lanes side by side (default 2, one per core: a third lane made the run slower
  # and the busiest tests late; 1 runs them one after another). Inside a project the integration classes still run one
  # at a time; the lanes are balanced by each project's usual time (tenths of a minute, heaviest first), and each
  # lane's output is printed whole when it ends.
  weight() { case "$1" in BackupWorker.Tests) echo 77 ;; AppHost.Tests) echo 60 ;; Platform.Scheduler.Tests) echo 38 ;;
                          Platform.Sidecar.Tests) echo 28 ;; BackupApi.Tests) echo 4 ;; Platform.Sentry.Tests) echo 3 ;; *) echo 1 ;; esac; }
  lanes=${TEST_LANES:-2}
  declare -a lane_projects lane_load
  for ((i = 0; i < lanes; i++)); do lane_projects[i]=""; lane_load[i]=0; done
  for proj in $(for p in $(find tests -name '*.Tests.csproj'); do echo "$(weight "$(basename "$p" .csproj)") $p"; done | sort -k1,1nr -k2 | cut -d' ' -f2); do
    lightest=0
    for ((i = 1; i < lanes; i++)); do [ "${lane_load[i]}" -lt "${lane_load[lightest]}" ] && lightest=$i; done
    lane_projects[lightest]+=" $proj"
    lane_load[lightest]=$((lane_load[lightest] + $(weight "$(basename "$proj" .csproj)")))
  done
  run_lane() {
    local lane_status=0
    for proj in "$@"; do
      name=$(basename "$proj" .csproj)
      dotnet test "$proj" -c Release --no-build -nologo \
        --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" || lane_status=$?
    done
    return $lane_status
  }
  pids=()
  for ((i = 0; i < lanes; i++)); do
    # shellcheck disable=SC2086 # the list is space-separated paths without spaces
    run_lane ${lane_projects[i]} > "$results/lane-$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < lanes; i++)); do
    wait "${pids[i]}" || status=$?
    cat "$results/lane-$i.log"
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
# The failed tests by name, each with the start of its message and the test's own line of the stack, so that the end
# of a long log says which failed and why, not only how many (perl is in every Debian).
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  perl -0777 -ne '
    sub text { my $t = shift; $t =~ s/&#x([0-9A-Fa-f]+);/chr(hex($1))/ge; $t =~ s/&lt;/</g; $t =~ s/&gt;/>/g;
               $t =~ s/&quot;/"/g; $t =~ s/&apos;/\x27/g; $t =~ s/&amp;/&/g; $t =~ s/\r//g; return $t; }
    while (/<UnitTestResult ([^>]*outcome="(?:Failed|Error|Timeout|Aborted)"[^>]*)>(.*?)<\/UnitTestResult>/sg) {
      my ($attrs, $body) = ($1, $2);
      my ($name) = $attrs =~ /testName="([^"]*)"/; my ($duration) = $attrs =~ /duration="([^"]*)"/;
      print "failed: ", text($name), " ($duration)\n";
      my ($message) = $body =~ /<Message>(.*?)<\/Message>/s;
      my @lines = grep { /\S/ } split /\n/, text($message // "");
      print "  | $_\n" for @lines[0 .. ($#lines < 19 ? $#lines : 19)];
      print "  | ... (", @lines - 20, " more lines)\n" if @lines > 20;
      my ($stack) = $body =~ /<StackTrace>(.*?)<\/StackTrace>/s;
      my ($own) = grep { /\.Tests[.\/]/ && / in .*:line \d+/ } split /\n/, text($stack // "");
      print "  at", ($own =~ s/^\s*at//r), "\n" if $own;
    }' "$trx"
done
# A build or runner failure with no failed test must still read as a failure.
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
if [ $skipped -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
exit $status
