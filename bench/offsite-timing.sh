#!/usr/bin/env bash
# Issue 27's figures in one run: a SQLite database (default 100 MB) backed up locally, then locally and to Azurite
# (zstd level 3 / lz4 / none, AES-256-GCM), sizes beside the command-line `zstd -3` and `lz4`, and the restore time
# from Azurite. Needs Azurite under .tools/azurite and the zstd and lz4 commands (test.sh installs all three).
# Usage: bench/offsite-timing.sh [megabytes]
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project bench/OffsiteTiming -- "$@"
