#!/usr/bin/env bash
# The ONNX Runtime measurements of docs/benchmarks.md ("ONNX Runtime"), end to end:
#   1. random-but-realistic Mask R-CNN R50-FPN weights (tools/bench/make_maskrcnn_weights.py, torchvision)
#   2. MLNetSeg loads them as TorchvisionWeights.MaskRcnnResNet50FpnCocoV1, exports ONNX, writes the
#      synthetic 640x480 scene and 32 calibration scenes (MLNetSeg.Benchmarks onnx-prepare)
#   3. the int8 QDQ model calibrated on those 32 scenes (onnx-quantize)
#   4. speed: ONNX Runtime configurations alternating with torchvision 0.14 (tools/bench/onnx_speed.py),
#      at 2 threads and at 1 thread
#   5. ONNX Runtime's profile of the float and int8 graphs (onnx-profile)
#   6. AP on the synthetic validation split: libtorch vs float ONNX vs int8 ONNX of a trained quickstart
#      model (onnx-eval), when MODEL is given
# Usage: bash tools/bench/onnx_bench.sh [DIR=/tmp/mlnetseg-onnxbench] [MODEL.mlseg]
# Environment: RUNS (default 9), ONLY="speed profile eval" to run a subset of steps 4-6.
# Everything runs under nice -n 10; on a shared machine run it when the machine is otherwise quiet.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$(realpath -m "${1:-/tmp/mlnetseg-onnxbench}")"
MODEL="${2:-}"
RUNS="${RUNS:-9}"
ONLY="${ONLY:-}"
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
PY=/usr/bin/python3
B="nice -n 10 dotnet $ROOT/benchmarks/MLNetSeg.Benchmarks/bin/Release/net10.0/MLNetSeg.Benchmarks.dll"
RESULTS="$ROOT/benchmarks/results/$(date -u +%Y%m%dT%H%MZ)_onnx.jsonl"
mkdir -p "$DIR" "$(dirname "$RESULTS")"
cd "$ROOT"
nice -n 10 dotnet build benchmarks/MLNetSeg.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly

[ -f "$DIR/maskrcnn_r50_random.pth" ] || nice -n 10 $PY tools/bench/make_maskrcnn_weights.py "$DIR/maskrcnn_r50_random.pth"
[ -f "$DIR/maskrcnn_r50.onnx" ] || $B onnx-prepare "$DIR/maskrcnn_r50_random.pth" "$DIR" | tee -a "$RESULTS"
[ -f "$DIR/maskrcnn_r50_int8.onnx" ] || $B onnx-quantize "$DIR/maskrcnn_r50.onnx" "$DIR/maskrcnn_r50_int8.onnx" "$DIR/synthetic/train" 32 threads=2 | tee -a "$RESULTS"

if want speed; then
  $PY tools/bench/onnx_speed.py "$DIR" --runs "$RUNS" --threads 2 --results "$RESULTS" --predict float_all2 \
    --config float_all2=maskrcnn_r50.onnx:all:2 --config float_extended2=maskrcnn_r50.onnx:extended:2 \
    --config float_basic2=maskrcnn_r50.onnx:basic:2 --config int8_all2=maskrcnn_r50_int8.onnx:all:2
  $PY tools/bench/onnx_speed.py "$DIR" --runs "$RUNS" --threads 1 --results "$RESULTS" --no-parity \
    --config float_all1=maskrcnn_r50.onnx:all:1 --config int8_all1=maskrcnn_r50_int8.onnx:all:1
fi
if want profile; then
  for m in maskrcnn_r50.onnx maskrcnn_r50_int8.onnx; do $B onnx-profile "$DIR/$m" "$DIR/scene.png" all 2 3 | tee -a "$RESULTS"; done
fi
if want eval && [ -n "$MODEL" ]; then
  $B onnx-eval "$MODEL" "$DIR/quickstart-data" "$DIR/quickstart" 32 2 calibration=minmax -- calibration=percentile | tee -a "$RESULTS"
fi
echo "results: $RESULTS" >&2
