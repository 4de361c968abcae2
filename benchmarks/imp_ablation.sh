#!/usr/bin/env bash
# Trains the IMP ablation of docs/benchmarks.md ("IMP ablation"), the analogue of the IMP paper's Table 1 on the synthetic "small"
# set: every row starts from the same stage-1 Mask R-CNN of its seed (the paper's two-stage training, §3.3: ResNet-18 FPN, compact
# widths, BatchNorm, from scratch, STAGE1 iterations with the MaskLab ablation's recipe) and trains ITERATIONS more with one recipe:
#   maskrcnn          Mask R-CNN alone (the paper's first row: instances only, no semantic prediction)
#   mrcnn_imp         Mask R-CNN-IMP: Mask R-CNN whose IMP canvas is the semantic prediction
#   semantic_p2       Semantic-P2: a semantic head on P2 only, no detector losses
#   panoptic_p2       Panoptic-P2: Mask R-CNN + the P2 head
#   panoptic_p2_imp   Panoptic-P2-IMP
#   semantic_fpn      Semantic-FPN: Panoptic FPN's semantic head alone
#   panoptic_fpn      Panoptic-FPN
#   panoptic_fpn_imp  Panoptic-FPN-IMP
# Each run writes OUT/<row>/seed<k>/model_final.mlseg; a finished run is skipped. Score them with:
#   dotnet run -c Release --project benchmarks/MLNetSeg.Benchmarks -- imp-ablation --data DATA --out OUT
# Usage: bash benchmarks/imp_ablation.sh [OUT] [ITERATIONS] [SEEDS] [STAGE1]   (default out/imp_ablation, 300, "1 2", 600)
# STAGE1_DIR=D reuses D/seed<k>/model_final.mlseg as the stage-1 models (e.g. the MaskLab ablation's maskrcnn row, same recipe).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-out/imp_ablation}"
ITERATIONS="${2:-300}"
SEEDS="${3:-1 2}"
STAGE1="${4:-600}"
# shellcheck source=benchmarks/private_cli.sh
source benchmarks/private_cli.sh
private_cli "$OUT"
CLI="dotnet $OUT/cli/mlnetseg.dll"
DATA="${DATA:-$OUT/data}"
[ -f "$DATA/annotations/instances_val.json" ] || $CLI generate --preset small --out "$DATA"
COMMON=(--train-json "$DATA/annotations/instances_train.json" --train-images "$DATA/train"
  --set Backbone=ResNet18 --set Norm=BatchNorm --set Widths=Compact --set Settings.TrainableBackboneLayers=5
  --set Settings.MinSize=192 --set Settings.MaxSize=256 --set Settings.BoxBatchSizePerImage=256
  --set Settings.HeadPositivesPerImage=8 --set Settings.BoxDetectionsPerImage=30
  --batch-size 4 --clip-grad-norm 10 --workers 1 --log-period 50)

declare -A ROWS=(
  [maskrcnn]=""
  [mrcnn_imp]="--set SemanticHead=None --set Imp=true"
  [semantic_p2]="--set SemanticHead=P2 --set Imp=false --set Instances=false"
  [panoptic_p2]="--set SemanticHead=P2 --set Imp=false"
  [panoptic_p2_imp]="--set SemanticHead=P2 --set Imp=true"
  [semantic_fpn]="--set SemanticHead=Fpn --set Imp=false --set Instances=false"
  [panoptic_fpn]="--set SemanticHead=Fpn --set Imp=false"
  [panoptic_fpn_imp]="--set SemanticHead=Fpn --set Imp=true"
)
ORDER="maskrcnn mrcnn_imp semantic_p2 panoptic_p2 panoptic_p2_imp semantic_fpn panoptic_fpn panoptic_fpn_imp"

for seed in $SEEDS; do
  stage1="${STAGE1_DIR:-$OUT/stage1}/seed$seed/model_final.mlseg"
  if [ ! -f "$stage1" ]; then
    echo "== stage 1 (Mask R-CNN, $STAGE1 iterations) seed $seed ($(date -u +%H:%M:%S))" >&2
    $CLI train --family maskrcnn "${COMMON[@]}" --out "$(dirname "$stage1")" --seed "$seed" \
      --lr 0.06 --warmup 100 --schedule cosine --iterations "$STAGE1" --checkpoint-period 200
  fi
  for row in $ORDER; do
    run="$OUT/$row/seed$seed"
    if [ -f "$run/model_final.mlseg" ]; then echo "skip $row seed $seed (done)" >&2; continue; fi
    echo "== $row seed $seed ($(date -u +%H:%M:%S))" >&2
    start=$(date +%s)
    if [ "$row" = maskrcnn ]; then family=(--family maskrcnn)
    else
      # shellcheck disable=SC2206
      family=(--family panoptic ${ROWS[$row]} --train-semantic "$DATA/semantic/train" --set PanopticStuffArea=256)
    fi
    $CLI train "${family[@]}" "${COMMON[@]}" --weights "$stage1" --out "$run" --seed "$seed" \
      --lr 0.02 --warmup 50 --schedule cosine --iterations "$ITERATIONS" --checkpoint-period "$ITERATIONS"
    echo "$row seed $seed: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt" >&2
  done
done
