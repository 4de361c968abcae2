"""torchvision counterpart of TrainingBenchmarks.Training (benchmarks/MLNetSeg.Benchmarks): training
throughput, in images per second, of the quickstart's Mask R-CNN with torchvision 0.14's detection
reference loop (references/detection/engine.py train_one_epoch) on the same synthetic train split.

Model: ResNet-18 (BasicBlock [2, 2, 2, 2], BatchNorm2d) of base width w + BackboneWithFPN with
BatchNorm (in [w, 2w, 4w, 8w], LastLevelMaxPool), torchvision's v1 heads (one-conv RPNHead,
TwoMLPHead, MaskRCNNHeads without norm, MaskRCNNPredictor), all 5 backbone stages trainable,
min_size 192, max_size 256, box_batch_size_per_image 32, rpn pre/post NMS top-n train 1000/500.
Widths "torchvision" are torchvision's (w 64, FPN 256, box head 1024, mask head 256); "compact" are
MLNetSeg's DetectorWidths.Compact (32, 64, 256, 64).
Data: the COCO json of the synthetic "small" train split (the C# benchmark generates it), prepared as
the reference's get_coco does for training: images without usable annotations removed, crowd
annotations dropped, boxes clipped, empty boxes dropped, one uint8 mask per instance; then
PILToTensor + ConvertImageDtype + RandomHorizontalFlip(0.5). pycocotools is not importable here, so
compressed RLE is decoded below and polygons are filled with PIL.ImageDraw (a pixel of difference on
outlines; irrelevant to the timing). Decoding, masks and flips run in DataLoader worker processes
(as C#'s loader does on worker threads); shuffled batches of 4, drop_last (every image is 256x192,
so torchvision's GroupedBatchSampler would form the same kind of batches).
Loop: train_one_epoch's, step for step: model(images, targets), sum of losses, .item() of the total
and of each loss (the metric logger), finite check, zero_grad, backward, SGD step (lr 0.02 x 4/16,
momentum 0.9, weight decay 1e-4), LinearLR warmup from 0.001 over min(1000, len(loader) - 1) steps.
The clock runs from the end of warm-up iteration W to the end of iteration W + N.

Usage: /usr/bin/python3 benchmarks/reference/training.py [widths] [iterations] [threads] [warmup] [workers] [data_dir]
       (defaults: torchvision 20 2 5 1 /tmp/mlnetseg-bench-synthetic-small)"""
import json
import math
import os
import resource
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

WIDTHS = {  # backbone, fpn, box head, mask head
    "torchvision": (64, 256, 1024, 256),
    "compact": (32, 64, 256, 64),
}
BATCH = 4


# ---- model

def resnet18(width):
    """torchvision's resnet18 with BatchNorm2d, its stem and stages built for base width `width`
    (layer i has width * 2^(i-1) planes) and initialised as ResNet.__init__ does."""
    net = ResNet(BasicBlock, [2, 2, 2, 2], norm_layer=nn.BatchNorm2d)
    if width != 64:
        net.inplanes = width
        net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        net.bn1 = nn.BatchNorm2d(width)
        net.layer1 = net._make_layer(BasicBlock, width, 2)
        net.layer2 = net._make_layer(BasicBlock, width * 2, 2, stride=2)
        net.layer3 = net._make_layer(BasicBlock, width * 4, 2, stride=2)
        net.layer4 = net._make_layer(BasicBlock, width * 8, 2, stride=2)
        net.fc = nn.Linear(width * 8, 1000)  # not part of the detector (IntermediateLayerGetter stops at layer4)
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
    return net


def build_model(widths, num_classes):
    backbone_w, fpn, box, mask = WIDTHS[widths]
    body = resnet18(backbone_w)
    # _resnet_fpn_extractor with trainable_layers=5 (nothing frozen) and norm_layer=nn.BatchNorm2d,
    # spelled out because it fixes the FPN width at 256.
    backbone = BackboneWithFPN(body, {f"layer{k}": str(k - 1) for k in (1, 2, 3, 4)},
                               [backbone_w * 2 ** i for i in range(4)], fpn,
                               extra_blocks=LastLevelMaxPool(), norm_layer=nn.BatchNorm2d)
    return MaskRCNN(backbone, num_classes=None, min_size=192, max_size=256,
                    rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500, box_batch_size_per_image=32,
                    box_head=TwoMLPHead(fpn * 7 * 7, box), box_predictor=FastRCNNPredictor(box, num_classes),
                    mask_head=MaskRCNNHeads(fpn, [mask] * 4, 1), mask_predictor=MaskRCNNPredictor(mask, mask, num_classes))


# ---- data

def rle_counts(counts):
    """pycocotools' rleFrString: the compressed COCO RLE string to run lengths."""
    runs, p, i = [], 0, 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            c = ord(counts[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if i > 2:
            x += runs[i - 2]
        runs.append(x)
        i += 1
    return runs


def rle_mask(segmentation, h, w):
    counts = segmentation["counts"]
    runs = rle_counts(counts) if isinstance(counts, str) else list(counts)
    values = np.zeros(len(runs), dtype=np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, runs)
    return flat.reshape(w, h).T  # column-major, as COCO stores masks


def polygon_mask(polygons, h, w):
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for poly in polygons:
        if len(poly) >= 6:
            draw.polygon(list(zip(poly[0::2], poly[1::2])), outline=1, fill=1)
    return np.asarray(canvas, dtype=np.uint8)


def usable(anns):
    """torchvision's _coco_remove_images_without_annotations rule (no keypoints in instances json)."""
    return len(anns) > 0 and not all(any(o <= 1 for o in a["bbox"][2:]) for a in anns)


class CocoTrainSplit(torch.utils.data.Dataset):
    """Image i of the kept images in ascending id order, with ConvertCocoPolysToMask's target and the
    reference's hflip preset (PILToTensor, ConvertImageDtype, RandomHorizontalFlip)."""

    def __init__(self, json_path, image_dir):
        data = json.load(open(json_path))
        by_image = {}
        for a in data["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        self.images = [im for im in sorted(data["images"], key=lambda im: im["id"]) if usable(by_image.get(im["id"], []))]
        self.anns = by_image
        self.image_dir = image_dir
        # The reference trains with raw category ids and num_classes 91; the synthetic ids are 1..K.
        ids = sorted(c["id"] for c in data["categories"])
        if ids != list(range(1, len(ids) + 1)):
            raise ValueError(f"{json_path}: expected category ids 1..K, got {ids}")
        self.num_classes = len(ids) + 1

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        info = self.images[index]
        h, w = info["height"], info["width"]
        image = Image.open(os.path.join(self.image_dir, info["file_name"])).convert("RGB")
        anns = [a for a in self.anns[info["id"]] if a["iscrowd"] == 0]
        boxes = torch.as_tensor([a["bbox"] for a in anns], dtype=torch.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        boxes[:, 0::2].clamp_(min=0, max=w)
        boxes[:, 1::2].clamp_(min=0, max=h)
        masks = [rle_mask(a["segmentation"], h, w) if isinstance(a["segmentation"], dict) else polygon_mask(a["segmentation"], h, w)
                 for a in anns]
        masks = torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, h, w), dtype=torch.uint8)
        labels = torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)
        keep = (boxes[:, 3] > boxes[:, 1]) & (boxes[:, 2] > boxes[:, 0])
        target = {"boxes": boxes[keep], "labels": labels[keep], "masks": masks[keep]}
        image = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255  # PILToTensor + ConvertImageDtype
        if torch.rand(1) < 0.5:  # the reference's RandomHorizontalFlip
            image = image.flip(-1)
            target["boxes"][:, [0, 2]] = w - target["boxes"][:, [2, 0]]
            target["masks"] = target["masks"].flip(-1)
        return image, target


def collate(batch):
    return tuple(zip(*batch))


def batches(loader):
    while True:
        yield from loader


# ---- benchmark

def main():
    args = sys.argv[1:]
    widths = args[0] if len(args) > 0 else "torchvision"
    iterations = int(args[1]) if len(args) > 1 else 20
    threads = int(args[2]) if len(args) > 2 else 2
    warmup = int(args[3]) if len(args) > 3 else 5
    workers = int(args[4]) if len(args) > 4 else 1
    data_dir = args[5] if len(args) > 5 else os.path.join(tempfile.gettempdir(), "mlnetseg-bench-synthetic-small")
    if widths not in WIDTHS:
        sys.exit(f"widths must be one of {sorted(WIDTHS)}, got {widths!r}")
    if iterations < 1 or warmup < 1:
        sys.exit(f"iterations and warmup must be at least 1, got {iterations} and {warmup}")
    json_path = os.path.join(data_dir, "annotations", "instances_train.json")
    if not os.path.exists(json_path):
        sys.exit(f"{json_path} not found: run the C# side first (dotnet MLNetSeg.Benchmarks.dll training ...), which generates it")

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    dataset = CocoTrainSplit(json_path, os.path.join(data_dir, "train"))
    sampler = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(dataset), BATCH, drop_last=True)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers, collate_fn=collate,
                                         persistent_workers=workers > 0)
    model = build_model(widths, dataset.num_classes)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.02 * BATCH / 16, momentum=0.9, weight_decay=1e-4)
    lr_scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.001, total_iters=min(1000, len(loader) - 1))

    ends = []
    loss_value = float("nan")
    stream = batches(loader)
    for _ in range(warmup + iterations):
        images, targets = next(stream)
        images = list(images)
        targets = [{k: v for k, v in t.items()} for t in targets]
        loss_dict = model(images, targets)
        losses = sum(loss for loss in loss_dict.values())
        loss_value = losses.item()
        if not math.isfinite(loss_value):
            sys.exit(f"loss is {loss_value}: {loss_dict}")
        optimizer.zero_grad()
        losses.backward()
        optimizer.step()
        lr_scheduler.step()
        _ = {k: v.item() for k, v in loss_dict.items()}  # the metric logger's read-outs
        ends.append(time.perf_counter())

    seconds = ends[-1] - ends[warmup - 1]
    per_iteration = [ends[i] - ends[i - 1] for i in range(warmup, warmup + iterations)]
    print(json.dumps({"benchmark": "training", "impl": "torchvision", "widths": widths, "threads": threads, "workers": workers,
                      "batch": BATCH, "warmup": warmup, "iterations": iterations,
                      "images_per_s": round(iterations * BATCH / seconds, 3),
                      "median_s_per_iter": round(sorted(per_iteration)[len(per_iteration) // 2], 4),
                      "trainable_parameters": sum(p.numel() for p in params), "final_loss": round(loss_value, 4),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))


if __name__ == "__main__":
    main()
