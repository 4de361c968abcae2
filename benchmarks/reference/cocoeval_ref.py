"""pycocotools timing for docs/benchmarks.md: evaluate()+accumulate() of one iouType, the same
span EvaluationBenchmarks.CocoEval times. Prints one JSON line with the time and the 12 stats.
Usage: PYTHONPATH=/tmp/refs/site /usr/bin/python3 cocoeval_ref.py GT DT bbox|segm"""
import contextlib
import io
import json
import sys
import time

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

gt_path, dt_path, iou_type = sys.argv[1:4]
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    e = COCOeval(gt, dt, iou_type)
    t0 = time.perf_counter()
    e.evaluate()
    e.accumulate()
    seconds = time.perf_counter() - t0
    e.summarize()
print(json.dumps({"benchmark": "cocoeval", "impl": "pycocotools", "iou_type": iou_type,
                  "seconds": seconds, "stats": [float(s) for s in e.stats]}))
