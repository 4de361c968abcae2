"""Synthetic COCO evaluation workload for docs/benchmarks.md (issue: 5,000 images x 100
detections, 80 categories, RLE masks on 640x480 images).

Writes <out>/bench.gt.json (polygon ground truth, ~7 per image, 1% crowd) and
<out>/bench.dt.json (500,000 results, each with bbox AND a compressed-RLE segmentation, so the
same file serves iouType bbox and segm). Deterministic (numpy seed 7).
Needs pycocotools (tools/fixtures/README.md says how it is built here) to encode the RLEs.
Usage: PYTHONPATH=/tmp/refs/site /usr/bin/python3 benchmarks/reference/gen_coco_bench.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
from pycocotools import mask as mask_utils

W, H, N_IMG, N_CAT, N_DET = 640, 480, 5000, 80, 100
rng = np.random.default_rng(7)


def polygon(cx, cy, rx, ry, n=10):
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.6, 1.0, n)
    xs, ys = np.clip(cx + rx * r * np.cos(a), 0, W - 1), np.clip(cy + ry * r * np.sin(a), 0, H - 1)
    return [round(float(v), 2) for xy in zip(xs, ys) for v in xy]


def main(out):
    os.makedirs(out, exist_ok=True)
    images, anns, dets = [], [], []
    aid = 1
    for i in range(1, N_IMG + 1):
        images.append({"id": i, "width": W, "height": H, "file_name": f"{i:06d}.jpg"})
        gts = []
        for _ in range(int(rng.integers(1, 14))):
            cx, cy = rng.uniform(10, W - 10), rng.uniform(10, H - 10)
            rx, ry = rng.uniform(2, 150), rng.uniform(2, 150)
            p = polygon(cx, cy, rx, ry)
            rle = mask_utils.frPyObjects([p], H, W)[0]
            c = int(rng.integers(1, N_CAT + 1))
            anns.append({"id": aid, "image_id": i, "category_id": c, "segmentation": [p],
                         "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                         "iscrowd": int(rng.uniform() < 0.01)})
            aid += 1
            gts.append((c, cx, cy, rx, ry))
        polys, cats = [], []
        for _ in range(N_DET):
            if rng.uniform() < 0.5:
                c, cx, cy, rx, ry = gts[int(rng.integers(0, len(gts)))]
                if rng.uniform() < 0.2:
                    c = int(rng.integers(1, N_CAT + 1))
                polys.append(polygon(cx + rng.normal(0, 4), cy + rng.normal(0, 4), rx * rng.uniform(0.8, 1.2), ry * rng.uniform(0.8, 1.2)))
            else:
                c = int(rng.integers(1, N_CAT + 1))
                polys.append(polygon(rng.uniform(10, W - 10), rng.uniform(10, H - 10), rng.uniform(2, 80), rng.uniform(2, 80)))
            cats.append(c)
        rles = mask_utils.frPyObjects(polys, H, W)
        boxes = mask_utils.toBbox(rles)
        for r, b, c in zip(rles, boxes, cats):
            dets.append({"image_id": i, "category_id": c, "bbox": [round(float(v), 2) for v in b],
                         "segmentation": {"size": [H, W], "counts": r["counts"].decode("ascii")},
                         "score": round(float(rng.uniform()), 4)})
    gt = {"images": images, "categories": [{"id": c, "name": f"class{c}"} for c in range(1, N_CAT + 1)], "annotations": anns}
    with open(os.path.join(out, "bench.gt.json"), "w") as f:
        json.dump(gt, f)
    with open(os.path.join(out, "bench.dt.json"), "w") as f:
        json.dump(dets, f)
    print(json.dumps({"images": len(images), "ground_truths": len(anns), "detections": len(dets)}))


if __name__ == "__main__":
    main(sys.argv[1])
