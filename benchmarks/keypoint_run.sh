#!/usr/bin/env bash
# The keypoint run of docs/benchmarks.md: Keypoint R-CNN (ResNet-18 FPN, compact widths) trained
# from scratch with `mlnetseg train` on the persons of the synthetic "small" set (the quickstart's
# data), then COCO box and keypoint AP on its validation split, metrics.jsonl and a loss-curve SVG.
# The recipe is the quickstart's (SGD, warmup 100, cosine, batch 4 at 256×192, 128 RoIs per image)
# with a lower learning rate (LR, default 0.02: at 0.06 the keypoint loss climbed back to chance,
# ln 56² ≈ 8.05, during warmup) and at most 4 positives per image for the keypoint head (8 convs on
# 14×14 RoIs: its cost per RoI is ~8× the compact mask head's).
# Usage: bash benchmarks/keypoint_run.sh [OUT] [ITERATIONS]     (default out/keypoint_run, 600)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-out/keypoint_run}"
ITERATIONS="${2:-600}"
dotnet build src/Cli -c Release -nologo -v q -clp:ErrorsOnly
CLI="dotnet src/Cli/bin/Release/net10.0/mlnetseg.dll"
DATA="$OUT/data"
[ -f "$DATA/annotations/person_keypoints_val.json" ] || $CLI generate --preset small --out "$DATA"
start=$(date +%s)
$CLI train --family keypointrcnn \
  --train-json "$DATA/annotations/person_keypoints_train.json" --train-images "$DATA/train" \
  --val-json "$DATA/annotations/person_keypoints_val.json" --val-images "$DATA/val" \
  --out "$OUT/train" --set Backbone=ResNet18 --set Norm=BatchNorm --set Widths=Compact --set Settings.TrainableBackboneLayers=5 \
  --set Settings.MinSize=192 --set Settings.MaxSize=256 --set Settings.BoxBatchSizePerImage=128 \
  --set Settings.HeadPositivesPerImage=4 --set Settings.BoxDetectionsPerImage=30 \
  --batch-size 4 --lr "${LR:-0.02}" --warmup 100 --schedule cosine --clip-grad-norm 10 --iterations "$ITERATIONS" \
  --workers 1 --checkpoint-period 200
echo "keypoint run: $(( $(date +%s) - start )) s of training and evaluation" >&2
$CLI curve --metrics "$OUT/train/metrics.jsonl" --out "$OUT/keypoint_curve.svg" \
  --title "Keypoint R-CNN R18-FPN (compact) from scratch, synthetic small persons"
