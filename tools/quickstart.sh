#!/usr/bin/env bash
# The README's main-job command: sets the machine up, builds, and runs samples/Quickstart.
# Outputs go to out/quickstart (override with the first argument).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup.sh
exec dotnet run --project samples/Quickstart -c Release --no-build -- "${1:-out/quickstart}"
