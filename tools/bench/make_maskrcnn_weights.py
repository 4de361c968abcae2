"""Random but realistic-looking weights for the ONNX speed benchmark (docs/benchmarks.md, "ONNX Runtime").

torchvision 0.14's maskrcnn_resnet50_fpn(weights=None, weights_backbone=None) built after
torch.manual_seed(SEED), with two layers rescaled so that the untrained detector behaves like a
trained one where it matters for speed (how many detections survive, how large their boxes are):

* roi_heads.box_predictor.cls_score (weight and bias) x CLS_SCALE, default 1. This untrained body's
  features are already large (FPN outputs up to ~200 on the benchmark scene), so the unscaled
  classifier gives 100 detections (torchvision's cap) above the 0.05 threshold; x8 saturates every
  score at 1.0, and the ties make the two sides' orders, and the parity check, arbitrary.
* rpn.head.bbox_pred and roi_heads.box_predictor.bbox_pred x BOX_SCALE, default 0.1. Unscaled, the
  box deltas are so large that every kept box is ~0.1 px wide (all pooled from the finest level,
  masks pasted into nothing); at 0.1 the boxes are 15-230 px wide and 20-105 px high on the scene,
  spread over the FPN levels like real detections.

The state_dict is saved as a .pth whose layout is torchvision's COCO_V1 file's, so both sides load
the same file: MLNetSeg with TorchvisionWeights.MaskRcnnResNet50FpnCocoV1.Load(path), the reference
(tools/bench/torchvision_worker.py) as torchvision's builder does with weights=COCO_V1. With
weights=None the builder's body has BatchNorm2d (running mean 0, var 1, weight 1, bias 0); the file
keeps those and num_batches_tracked, which FrozenBatchNorm2d ignores.

Usage: /usr/bin/python3 tools/bench/make_maskrcnn_weights.py OUT.pth [seed=0] [cls_scale=1] [box_scale=0.1]"""
import sys

import torch
from torchvision.models.detection import maskrcnn_resnet50_fpn


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    cls_scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    box_scale = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    torch.manual_seed(seed)
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    with torch.no_grad():
        for layer, scale in ((model.roi_heads.box_predictor.cls_score, cls_scale),
                             (model.rpn.head.bbox_pred, box_scale),
                             (model.roi_heads.box_predictor.bbox_pred, box_scale)):
            layer.weight.mul_(scale)
            layer.bias.mul_(scale)
    torch.save(model.state_dict(), out)
    print(f"saved {out}: {len(model.state_dict())} entries, seed {seed}, cls_score x{cls_scale}, bbox_pred x{box_scale}")


if __name__ == "__main__":
    main()
