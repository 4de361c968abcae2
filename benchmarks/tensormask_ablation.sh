#!/usr/bin/env bash
# Trains the TensorMask ablation of docs/benchmarks.md ("TensorMask ablation"), the analogue of the paper's Table 2 on the
# synthetic "small" set. Every row: the same data, backbone (ResNet-18 FPN at compact widths, BatchNorm, from scratch),
# input (192–256 pixels), batch 4 and iteration count; TensorMask rows share one recipe (towers of 64, P2–P5, one window
# size of 60 pixels on P2 = 15×15 masks as in Tab. 2a–c, SGD lr 0.02, warmup 100, cosine, gradient clipping 10):
#   bipyramid                 the tensor bipyramid (Tab. 2c)
#   upscale_aligned_l{1.5,3,5}  feature pyramid, upscale aligned head at λ (Tab. 2a)
#   upscale_natural_l{1.5,3,5}  feature pyramid, upscale natural head at λ (Tab. 2a)
#   nearest_l5                upscale aligned at λ 5 with nearest instead of bilinear interpolation ("unaligned", Tab. 2b)
#   maskrcnn                  Mask R-CNN with its quickstart recipe (lr 0.06), the same backbone, data and iterations
# Each run writes OUT/<row>/seed<k>/model_final.mlseg; a finished run is skipped. ROWS="..." picks rows (in that order).
# Score them with: dotnet run -c Release --project benchmarks/MLNetSeg.Benchmarks -- instance-ablation --data DATA --out OUT
# Usage: bash benchmarks/tensormask_ablation.sh [OUT] [ITERATIONS] [SEEDS]   (default out/tensormask_ablation, 400, "1 2")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-out/tensormask_ablation}"
ITERATIONS="${2:-400}"
SEEDS="${3:-1 2}"
# shellcheck source=benchmarks/private_cli.sh
source benchmarks/private_cli.sh
private_cli "$OUT"
CLI="dotnet $OUT/cli/mlnetseg.dll"
DATA="${DATA:-$OUT/data}"
[ -f "$DATA/annotations/instances_val.json" ] || $CLI generate --preset small --out "$DATA"
COMMON=(--train-json "$DATA/annotations/instances_train.json" --train-images "$DATA/train"
  --batch-size 4 --warmup 100 --schedule cosine --clip-grad-norm 10 --workers 1 --log-period 50 --checkpoint-period 200)
TENSORMASK=(--family tensormask --set Backbone=ResNet18 --set Norm=BatchNorm --set BackboneWidth=32 --set FpnChannels=64
  --set TrainableBackboneLayers=5 --set ClassTowerChannels=64 --set BoxTowerChannels=64 --set MaskTowerChannels=64
  --set Levels=4 --set WindowSizes=60 --set MinSize=192 --set MaxSize=256 --lr 0.02)

declare -A ROWS_OF=(
  [bipyramid]="--set Head=Bipyramid"
  [upscale_aligned_l1.5]="--set Head=UpscaleAligned --set UpscaleFactor=1.5"
  [upscale_natural_l1.5]="--set Head=UpscaleNatural --set UpscaleFactor=1.5"
  [upscale_aligned_l3]="--set Head=UpscaleAligned --set UpscaleFactor=3"
  [upscale_natural_l3]="--set Head=UpscaleNatural --set UpscaleFactor=3"
  [upscale_aligned_l5]="--set Head=UpscaleAligned --set UpscaleFactor=5"
  [upscale_natural_l5]="--set Head=UpscaleNatural --set UpscaleFactor=5"
  [nearest_l5]="--set Head=UpscaleAligned --set UpscaleFactor=5 --set Interpolation=Nearest"
)
ORDER="${ROWS:-bipyramid maskrcnn upscale_aligned_l5 upscale_natural_l5 nearest_l5 upscale_aligned_l3 upscale_natural_l3 upscale_aligned_l1.5 upscale_natural_l1.5}"

for seed in $SEEDS; do
  for row in $ORDER; do
    run="$OUT/$row/seed$seed"
    if [ -f "$run/model_final.mlseg" ]; then echo "skip $row seed $seed (done)" >&2; continue; fi
    echo "== $row seed $seed ($(date -u +%H:%M:%S))" >&2
    start=$(date +%s)
    if [ "$row" = maskrcnn ]; then
      $CLI train --family maskrcnn "${COMMON[@]}" --out "$run" --seed "$seed" --iterations "$ITERATIONS" --lr 0.06 \
        --set Backbone=ResNet18 --set Norm=BatchNorm --set Widths=Compact --set Settings.TrainableBackboneLayers=5 \
        --set Settings.MinSize=192 --set Settings.MaxSize=256 --set Settings.BoxBatchSizePerImage=256 \
        --set Settings.HeadPositivesPerImage=8 --set Settings.BoxDetectionsPerImage=30
    else
      # shellcheck disable=SC2086
      $CLI train "${TENSORMASK[@]}" ${ROWS_OF[$row]} "${COMMON[@]}" --out "$run" --seed "$seed" --iterations "$ITERATIONS"
    fi
    echo "$row seed $seed: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt" >&2
  done
done
