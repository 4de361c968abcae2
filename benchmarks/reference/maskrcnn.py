"""torchvision counterpart of ModelBenchmarks.MaskRcnn: maskrcnn_resnet50_fpn (FrozenBatchNorm
backbone, 91 classes) with the same name-seeded weights (tools/fixtures/deterministic_weights.py),
one 3x480x640 image, seconds per image (median) and peak RSS.
Usage: /usr/bin/python3 benchmarks/reference/maskrcnn.py [runs] [threads]"""
import json
import os
import resource
import sys
import time

import torch
from torchvision.models import resnet50
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.mask_rcnn import MaskRCNN
from torchvision.ops import misc as misc_nn_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "fixtures"))
import deterministic_weights as dw  # noqa: E402

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
torch.set_num_threads(threads)
model = MaskRCNN(_resnet_fpn_extractor(resnet50(norm_layer=misc_nn_ops.FrozenBatchNorm2d), 3), num_classes=91)
dw.apply(model)
model.eval()
image = torch.from_numpy(dw.uniform("bench.image", (3, 480, 640))).float()
times = []
with torch.no_grad():
    detections = model([image])[0]["boxes"].shape[0]  # warm-up
    for _ in range(runs):
        t0 = time.perf_counter()
        detections = model([image])[0]["boxes"].shape[0]
        times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"benchmark": "maskrcnn800", "impl": "torchvision", "threads": threads,
                  "median_s": round(times[len(times) // 2], 3), "detections": int(detections),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
