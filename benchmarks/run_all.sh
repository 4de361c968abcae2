#!/usr/bin/env bash
# Runs every benchmark, C# and Python reference back to back in the same session, and
# appends one JSON line per measurement to benchmarks/results/<date>.jsonl. The figures in
# docs/benchmarks.md come from these files. Needs tools/setup.sh to have run, and for the COCO
# and RLE references a pycocotools build on PYTHONPATH (tools/fixtures/README.md).
# Usage: bash benchmarks/run_all.sh [threads]       (default: all cores)
# Environment (all optional):
#   ONLY="training maskrcnn"   run only these sections: overhead resnet50 maskrcnn memory rle nms cocoeval training
#   TRAIN_ITERS=20 TRAIN_WARMUP=5 TRAIN_WORKERS=1   timed/untimed iterations and loader workers of "training"
#   ARTIFACTS=/tmp/dir         build into this --artifacts-path instead of the project's bin/
#   RESULTS=file.jsonl         append to this file instead of a new benchmarks/results/<date>.jsonl
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
THREADS="${1:-$(nproc)}"
ONLY="${ONLY:-}"
OUT="${RESULTS:-benchmarks/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
mkdir -p "$(dirname "$OUT")"
if [ -n "${ARTIFACTS:-}" ]; then
  dotnet build benchmarks/MLNetSeg.Benchmarks -c Release --artifacts-path "$ARTIFACTS" -nologo -v q -clp:ErrorsOnly
  B="dotnet $ARTIFACTS/bin/MLNetSeg.Benchmarks/release/MLNetSeg.Benchmarks.dll"
else
  dotnet build benchmarks/MLNetSeg.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
  B="dotnet benchmarks/MLNetSeg.Benchmarks/bin/Release/net10.0/MLNetSeg.Benchmarks.dll"
fi
PY=/usr/bin/python3
run() { echo "+ $*" >&2; "$@" | tee -a "$OUT"; }
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

if want overhead; then
  for i in 1 2 3; do
    run $B overhead
    run $PY benchmarks/reference/engine.py overhead
  done
fi
if want resnet50; then
  for i in 1 2 3; do
    run $B resnet50 5 "$THREADS"
    run $PY benchmarks/reference/engine.py resnet50 5 "$THREADS"
  done
fi
if want maskrcnn; then
  for i in 1 2; do
    run $B maskrcnn 5 "$THREADS" false
    run $B maskrcnn 5 "$THREADS" true
    run $PY benchmarks/reference/maskrcnn.py 5 "$THREADS"
  done
fi
if want memory; then
  MLNETSEG_THREADS=1 run $B memory 10000
  run $PY benchmarks/reference/engine.py memory 10000
fi
if want rle; then
  run $B rle
  run $PY benchmarks/reference/vision_ops.py rle
fi
if want nms; then
  run $B nms10k
  run $PY benchmarks/reference/vision_ops.py nms
fi
if want cocoeval; then
  if [ ! -f /tmp/cocobench/bench.gt.json ]; then
    $PY benchmarks/reference/gen_coco_bench.py /tmp/cocobench
  fi
  for t in bbox segm; do
    run $B cocoeval /tmp/cocobench/bench.gt.json /tmp/cocobench/bench.dt.json $t 3
    run $PY benchmarks/reference/cocoeval_ref.py /tmp/cocobench/bench.gt.json /tmp/cocobench/bench.dt.json $t
  done
fi
if want training; then
  # Mask R-CNN R18-FPN training throughput (docs/benchmarks.md, "Training throughput"). C# runs
  # first: it generates the synthetic dataset both sides read (/tmp/mlnetseg-bench-synthetic-small).
  TRAIN_ARGS=("${TRAIN_ITERS:-20}" "$THREADS" "${TRAIN_WARMUP:-5}" "${TRAIN_WORKERS:-1}")
  for i in 1 2 3; do
    for widths in torchvision compact; do
      run $B training "$widths" "${TRAIN_ARGS[@]}"
      run $PY benchmarks/reference/training.py "$widths" "${TRAIN_ARGS[@]}"
    done
  done
fi
echo "results: $OUT" >&2
/usr/bin/python3 benchmarks/summarize.py "$OUT"
