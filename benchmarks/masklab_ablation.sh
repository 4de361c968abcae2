#!/usr/bin/env bash
# Trains the MaskLab ablation of docs/benchmarks.md ("MaskLab ablation"): Mask R-CNN and MaskLab with its
# pieces switched on one by one (semantic only; + direction; + refinement; + deformable crop), the same
# data (the synthetic "small" set), backbone (ResNet-18 FPN, compact widths, BatchNorm, from scratch),
# recipe and iteration count for every row, for each seed. The recipe is the quickstart's (SGD lr 0.06,
# warmup 100, cosine, batch 4 at 256×192, 256 RoIs per image, mask branch on ≤ 8 boxes per image), with
# MaskLab's crops at 21 (the paper's 41 is for COCO images resized to 800 pixels, objects ~4× larger
# than here). Each run writes OUT/<row>/seed<k>/model_final.mlseg and metrics.jsonl; a finished run is skipped.
# Evaluate them with: dotnet run -c Release --project benchmarks/MLNetSeg.Benchmarks -- instance-ablation --data DATA --out OUT
# Usage: bash benchmarks/masklab_ablation.sh [OUT] [ITERATIONS] [SEEDS]   (default out/masklab_ablation, 600, "1 2")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-out/masklab_ablation}"
ITERATIONS="${2:-600}"
SEEDS="${3:-1 2}"
# shellcheck source=benchmarks/private_cli.sh
source benchmarks/private_cli.sh
private_cli "$OUT"
CLI="dotnet $OUT/cli/mlnetseg.dll"
DATA="${DATA:-$OUT/data}"
[ -f "$DATA/annotations/instances_val.json" ] || $CLI generate --preset small --out "$DATA"

declare -A ROWS=(
  [maskrcnn]="--family maskrcnn"
  [masklab_semantic]="--family masklab --set CropSize=21 --set Direction=false --set Refinement=false --set DeformableCrop=false"
  [masklab_direction]="--family masklab --set CropSize=21 --set Refinement=false --set DeformableCrop=false"
  [masklab_refinement]="--family masklab --set CropSize=21 --set DeformableCrop=false"
  [masklab_deformable]="--family masklab --set CropSize=21"
)
ORDER="maskrcnn masklab_semantic masklab_direction masklab_refinement masklab_deformable"

for seed in $SEEDS; do
  for row in $ORDER; do
    run="$OUT/$row/seed$seed"
    if [ -f "$run/model_final.mlseg" ]; then echo "skip $row seed $seed (done)" >&2; continue; fi
    echo "== $row seed $seed ($(date -u +%H:%M:%S))" >&2
    start=$(date +%s)
    # shellcheck disable=SC2086
    $CLI train ${ROWS[$row]} \
      --train-json "$DATA/annotations/instances_train.json" --train-images "$DATA/train" \
      --val-json "$DATA/annotations/instances_val.json" --val-images "$DATA/val" \
      --out "$run" --seed "$seed" \
      --set Backbone=ResNet18 --set Norm=BatchNorm --set Widths=Compact --set Settings.TrainableBackboneLayers=5 \
      --set Settings.MinSize=192 --set Settings.MaxSize=256 --set Settings.BoxBatchSizePerImage=256 \
      --set Settings.HeadPositivesPerImage=8 --set Settings.BoxDetectionsPerImage=30 \
      --batch-size 4 --lr 0.06 --warmup 100 --schedule cosine --clip-grad-norm 10 --iterations "$ITERATIONS" \
      --workers 1 --checkpoint-period 200 --log-period 50
    echo "$row seed $seed: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt" >&2
  done
done
