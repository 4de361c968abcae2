#!/usr/bin/env bash
# The cross-family leaderboard of docs/comparison.md: `mlnetseg compare` on the synthetic "small" set, every
# instance-segmentation family at the ablations' recipe (ResNet-18 FPN, compact widths, BatchNorm, from scratch,
# 192-256 px), ranked by mask AP with successive halving within BUDGET of wall time.
# Usage: bash benchmarks/compare_families.sh [OUT] [BUDGET] [SEED]   (default out/compare, 20m, 1)
# Rerunning with the same OUT continues a comparison that was stopped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-out/compare}"
BUDGET="${2:-20m}"
SEED="${3:-1}"
# shellcheck source=benchmarks/private_cli.sh
source benchmarks/private_cli.sh
private_cli "$OUT"
CLI="dotnet $OUT/cli/mlnetseg.dll"
DATA="${DATA:-$OUT/data}"
[ -f "$DATA/annotations/instances_val.json" ] || $CLI generate --preset small --out "$DATA"
$CLI compare --train-json "$DATA/annotations/instances_train.json" --train-images "$DATA/train" \
  --val-json "$DATA/annotations/instances_val.json" --val-images "$DATA/val" \
  --train-semantic "$DATA/semantic/train" --val-semantic "$DATA/semantic/val" \
  --out "$OUT/run" --budget "$BUDGET" --seed "$SEED" --batch-size 4 --lr 0.06 --warmup 100 --workers 1 \
  --set Backbone=ResNet18 --set Norm=BatchNorm --set Widths=Compact --set Settings.TrainableBackboneLayers=5 \
  --set Settings.MinSize=192 --set Settings.MaxSize=256 --set Settings.BoxBatchSizePerImage=256 \
  --set Settings.HeadPositivesPerImage=8 --set Settings.BoxDetectionsPerImage=30 \
  --candidate "maskrcnn=maskrcnn" \
  --candidate "masklab=masklab CropSize=21" \
  --candidate "panoptic_fpn=panoptic SemanticHead=Fpn Imp=false" \
  --candidate "panoptic_fpn_imp=panoptic SemanticHead=Fpn Imp=true"
