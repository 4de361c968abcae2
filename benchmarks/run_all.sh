#!/usr/bin/env bash
# Runs every benchmark, C# and Python reference back to back in the same session, and
# appends one JSON line per measurement to benchmarks/results/<date>.jsonl. The figures in
# docs/benchmarks.md come from these files. Needs tools/setup.sh to have run, and for the COCO
# and RLE references a pycocotools build on PYTHONPATH (tools/fixtures/README.md).
# Usage: bash benchmarks/run_all.sh [threads]       (default: all cores)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
THREADS="${1:-$(nproc)}"
OUT="benchmarks/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p benchmarks/results
dotnet build benchmarks/MLNetSeg.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
B="dotnet benchmarks/MLNetSeg.Benchmarks/bin/Release/net10.0/MLNetSeg.Benchmarks.dll"
PY=/usr/bin/python3
run() { echo "+ $*" >&2; "$@" | tee -a "$OUT"; }

for i in 1 2 3; do
  run $B overhead
  run $PY benchmarks/reference/engine.py overhead
done
for i in 1 2 3; do
  run $B resnet50 5 "$THREADS"
  run $PY benchmarks/reference/engine.py resnet50 5 "$THREADS"
done
for i in 1 2; do
  run $B maskrcnn 5 "$THREADS" false
  run $B maskrcnn 5 "$THREADS" true
  run $PY benchmarks/reference/maskrcnn.py 5 "$THREADS"
done
MLNETSEG_THREADS=1 run $B memory 10000
run $PY benchmarks/reference/engine.py memory 10000
run $B rle
run $PY benchmarks/reference/vision_ops.py rle
run $B nms10k
run $PY benchmarks/reference/vision_ops.py nms
if [ ! -f /tmp/cocobench/bench.gt.json ]; then
  $PY benchmarks/reference/gen_coco_bench.py /tmp/cocobench
fi
for t in bbox segm; do
  run $B cocoeval /tmp/cocobench/bench.gt.json /tmp/cocobench/bench.dt.json $t 3
  run $PY benchmarks/reference/cocoeval_ref.py /tmp/cocobench/bench.gt.json /tmp/cocobench/bench.dt.json $t
done
echo "results: $OUT" >&2
/usr/bin/python3 benchmarks/summarize.py "$OUT"
