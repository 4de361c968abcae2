"""torchvision side of the ONNX speed benchmark (tools/bench/onnx_speed.py drives it).

Builds Mask R-CNN ResNet-50-FPN as torchvision 0.14's maskrcnn_resnet50_fpn(weights=COCO_V1) does
(FrozenBatchNorm2d body, overwrite_eps(model, 0.0), torchvision's default min 800 / max 1333),
loads the benchmark's .pth, eval(), and answers one command per stdin line with one JSON line:
  run          one full forward under torch.no_grad() (transform, backbone, RPN, heads,
               postprocess with paste_masks_in_image), seconds and detection count
  dump PATH    the detections of one forward (boxes, scores, labels) as json, for the parity check
  quit
With --batchnorm the body keeps weights=None's BatchNorm2d (eps 1e-5) instead.

Usage: /usr/bin/python3 tools/bench/torchvision_worker.py WEIGHTS.pth IMAGE.png THREADS [--batchnorm]"""
import json
import sys
import time

import numpy as np
import torch
from PIL import Image
from torchvision.models.detection import maskrcnn_resnet50_fpn
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.mask_rcnn import MaskRCNN
from torchvision.models import resnet50
from torchvision.models._utils import _ovewrite_value_param  # noqa: F401  (import check: torchvision 0.14 layout)
from torchvision.ops import misc as misc_nn_ops


def build(weights, batchnorm):
    if batchnorm:
        model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    else:
        # maskrcnn_resnet50_fpn(weights=COCO_V1) minus the download: is_trained → FrozenBatchNorm2d,
        # 3 trainable layers (irrelevant in eval), eps overwritten to 0.
        from torchvision.models.detection._utils import overwrite_eps
        model = MaskRCNN(_resnet_fpn_extractor(resnet50(norm_layer=misc_nn_ops.FrozenBatchNorm2d), 3), num_classes=91)
        overwrite_eps(model, 0.0)
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model.eval()


def main():
    weights, image_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    batchnorm = "--batchnorm" in sys.argv[4:]
    torch.set_num_threads(threads)
    model = build(weights, batchnorm)
    pixels = np.asarray(Image.open(image_path).convert("RGB"))
    image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float().div(255)  # torchvision's to_tensor
    print(json.dumps({"ready": True, "impl": "torchvision" + ("_batchnorm" if batchnorm else ""),
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "image": list(image.shape)}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "quit":
            break
        with torch.no_grad():
            t0 = time.perf_counter()
            out = model([image])[0]
            seconds = time.perf_counter() - t0
        if command[0] == "run":
            print(json.dumps({"s": seconds, "detections": int(out["boxes"].shape[0])}), flush=True)
        elif command[0] == "dump":
            with open(command[1], "w") as f:
                json.dump({"boxes": out["boxes"].tolist(), "scores": out["scores"].tolist(),
                           "labels": out["labels"].tolist(),
                           "mask_areas": (out["masks"][:, 0] > 0.5).sum((1, 2)).tolist()}, f)
            print(json.dumps({"s": seconds, "detections": int(out["boxes"].shape[0]), "dumped": command[1]}), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {command[0]}"}), flush=True)


if __name__ == "__main__":
    main()
