"""torchvision counterpart of GpuBenchmarks (benchmarks/MLNetSeg.Benchmarks/GpuBenchmarks.cs): the same
maskrcnn_resnet50_fpn with the same name-seeded weights (tools/fixtures/deterministic_weights.py), the
same input image and training batch, the same clocks, on the same GPU in the same run
(benchmarks/gpu/run_device.sh).
Usage: python3 benchmarks/reference/gpu.py maskrcnn [runs] [device]
       python3 benchmarks/reference/gpu.py training [iterations] [batch] [device]"""
import json
import os
import statistics
import sys
import time

import torch
from torchvision.models import resnet50
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.mask_rcnn import MaskRCNN
from torchvision.ops import misc as misc_nn_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "fixtures"))
import deterministic_weights as dw  # noqa: E402

WARMUP = 5


def build(device):
    model = MaskRCNN(_resnet_fpn_extractor(resnet50(norm_layer=misc_nn_ops.FrozenBatchNorm2d), 3), num_classes=91)
    dw.apply(model)
    return model.to(device)


def measure(run, runs):
    for _ in range(WARMUP):
        run()
    return statistics.median(run() for _ in range(runs))


AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def maskrcnn(runs=50, device="cuda", precision="fp32"):
    model = build(device).eval()
    image = torch.from_numpy(dw.uniform("bench.image", (3, 480, 640))).float().to(device)
    detections = 0

    def model_ms():
        nonlocal detections
        t0 = time.perf_counter()
        with torch.no_grad(), torch.autocast(device.split(":")[0], dtype=AUTOCAST[precision] or torch.float32,
                                             enabled=AUTOCAST[precision] is not None):
            out = model([image])[0]
        detections = out["scores"].cpu().shape[0]  # waits for the GPU
        return 1000 * (time.perf_counter() - t0)

    ms = measure(model_ms, runs)
    return {"benchmark": "maskrcnn800_gpu", "impl": "torchvision", "device": device, "runs": runs, "precision": precision,
            "model_ms": round(ms, 2), "detections": detections, "engine": f"torch {torch.__version__}"}


def synthetic_target(index, height, width, device):
    """GpuBenchmarks.SyntheticTarget: five boxes on a fixed diagonal, labels 1-5, masks the filled boxes."""
    boxes, masks = [], torch.zeros((5, height, width), dtype=torch.uint8)
    for k in range(5):
        x1, y1 = 20 + 90 * k + 10 * index, 15 + 70 * k
        x2, y2 = x1 + 120, y1 + 100
        boxes.append([x1, y1, x2, y2])
        masks[k, y1:y2, x1:x2] = 1
    return {"boxes": torch.tensor(boxes, dtype=torch.float32, device=device),
            "labels": torch.arange(1, 6, dtype=torch.int64, device=device), "masks": masks.to(device)}


def training(iterations=30, batch=2, device="cuda", precision="fp32"):
    model = build(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    sgd = torch.optim.SGD(params, lr=0.002, momentum=0.9, weight_decay=1e-4)
    images = [torch.from_numpy(dw.uniform(f"bench.train.{i}", (3, 480, 640))).float().to(device) for i in range(batch)]
    targets = [synthetic_target(i, 480, 640, device) for i in range(batch)]
    last = 0.0
    # float16: torch's recipe, autocast around the forward pass and a GradScaler for the loss.
    scaler = torch.cuda.amp.GradScaler() if precision == "fp16" else None

    def step():
        nonlocal last
        with torch.autocast(device.split(":")[0], dtype=AUTOCAST[precision] or torch.float32, enabled=AUTOCAST[precision] is not None):
            total = sum(model(images, targets).values())
        sgd.zero_grad(set_to_none=True)
        if scaler is None:
            total.backward()
            sgd.step()
        else:
            scaler.scale(total).backward()
            scaler.step(sgd)
            scaler.update()
        last = total.item()  # waits for the GPU

    for _ in range(WARMUP):
        step()
    t0 = time.perf_counter()
    for _ in range(iterations):
        step()
    seconds = time.perf_counter() - t0
    return {"benchmark": "maskrcnn800_train_gpu", "impl": "torchvision", "device": device, "batch": batch, "precision": precision,
            "iterations": iterations, "images_per_s": round(batch * iterations / seconds, 2),
            "ms_per_iteration": round(1000 * seconds / iterations, 1), "last_loss": round(last, 4)}


if __name__ == "__main__":
    what, rest = sys.argv[1], sys.argv[2:]
    if what == "maskrcnn":
        print(json.dumps(maskrcnn(int(rest[0]) if rest else 50, rest[1] if len(rest) > 1 else "cuda",
                                  rest[2] if len(rest) > 2 else "fp32")))
    elif what == "training":
        print(json.dumps(training(int(rest[0]) if rest else 30, int(rest[1]) if len(rest) > 1 else 2,
                                  rest[2] if len(rest) > 2 else "cuda", rest[3] if len(rest) > 3 else "fp32")))
    else:
        sys.exit(f"unknown benchmark {what}")
