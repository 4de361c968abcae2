#!/usr/bin/env bash
# The load figures of docs/reliability.md at the issue's sizes: 8 threads × 1,000 predictions per
# predictor (typed, pooled ML.NET, ONNX Runtime), throughput at 1 and 2 calling threads, 10,000
# predictions through each predictor and through an ML.NET pipeline, and 20,000 training iterations
# with an evaluation every 2,000, each sampling resident memory and live tensors.
#
#   bash tools/reliability/load.sh [FILTER]     # FILTER: a dotnet test filter, default all load tests
#
# Writes CSVs and memory plots (PNG) to out/reliability and prints the summary lines. About 1.5 h on
# 2 cores (2026-12-04: the training run 50 min, the concurrency runs 10 min; run it alone: other load on the
# machine moves the throughput figures).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash tools/setup.sh
OUT="$ROOT/out/reliability"
mkdir -p "$OUT"
FILTER="${1:-FullyQualifiedName~MLNetSeg.Reliability.Tests.Concurrency|FullyQualifiedName~MLNetSeg.Reliability.Tests.LongRuns}"
MLNETSEG_RELIABILITY=full MLNETSEG_RELIABILITY_OUT="$OUT" \
  dotnet test tests/MLNetSeg.Reliability.Tests -c Release --no-build --nologo --filter "$FILTER" \
  --logger "console;verbosity=detailed" 2>&1 | tee "$OUT/load.log" | grep -E "^\s*(Passed|Failed) |predictions|warm-up|caller" || true
echo "CSVs and plots: $OUT"
