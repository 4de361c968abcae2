"""torchvision / pycocotools counterparts of VisionBenchmarks (same inputs, same threads).
Usage: /usr/bin/python3 vision_ops.py nms|rle [runs]   (rle needs pycocotools on PYTHONPATH)"""
import json
import sys
import time

import numpy as np
import torch


def median_time(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def nms(runs=21):
    import torchvision
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(10000, 2, generator=g) * 1000
    wh = torch.rand(10000, 2, generator=g) * 100 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(10000, generator=g)
    keep = torchvision.ops.nms(boxes, scores, 0.5)
    return {"benchmark": "nms10k", "impl": "torchvision", "ms": median_time(lambda: torchvision.ops.nms(boxes, scores, 0.5), runs) * 1e3,
            "kept": int(keep.numel())}


def rle(runs=51):
    from pycocotools import mask as mask_utils
    yy, xx = np.mgrid[0:480, 0:640]
    m = (((xx - 300) ** 2 + (yy - 200) ** 2) < 150 ** 2) | ((xx // 37 + yy // 23) % 5 == 0)
    row_major = m.astype(np.uint8)  # how masks arrive (decoded images, model outputs)
    fortran = np.asfortranarray(row_major)
    return {"benchmark": "rle_encode_640x480", "impl": "pycocotools",
            # what a caller pays: encode needs Fortran order, so the layout change is included
            "ms": median_time(lambda: mask_utils.encode(np.asfortranarray(row_major)), runs) * 1e3,
            "ms_encode_only": median_time(lambda: mask_utils.encode(fortran), runs) * 1e3,
            "area": int(mask_utils.area(mask_utils.encode(fortran)))}


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]](*[int(x) for x in sys.argv[2:]])))
