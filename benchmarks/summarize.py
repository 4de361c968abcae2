"""Turns a benchmarks/results/*.jsonl file (from run_all.sh) into the Markdown table of
docs/benchmarks.md: medians per (benchmark, impl) and the C#/reference ratio (of times, lower is
better; of the training rows' images/s, higher is better).
Usage: python3 benchmarks/summarize.py benchmarks/results/<file>.jsonl"""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
by = defaultdict(list)
for r in rows:
    # The middle key tells variants of one benchmark apart: COCO's IoU type, the training widths.
    by[(r["benchmark"], r.get("iou_type", r.get("widths", "")), r["impl"])].append(r)


def med(key, field):
    vals = [r[field] for r in by.get(key, []) if field in r]
    return statistics.median(vals) if vals else None


def line(name, ours, ref, unit, note=""):
    ratio = f"{ours / ref:.2f}" if ours is not None and ref else "—"
    fmt = lambda v: "—" if v is None else f"{v:.3g} {unit}"
    print(f"| {name} | {fmt(ours)} | {fmt(ref)} | {ratio} | {note} |")


print("| benchmark | C# (median) | reference (median) | ratio C#/ref | notes |")
print("|---|---|---|---|---|")
line("per-call overhead, add of 1-element tensors", med(("overhead", "", "csharp"), "us_per_call"),
     med(("overhead", "", "python"), "us_per_call"), "µs", "1 thread; vs torch 1.13 Python binding")
threads = next((r["threads"] for r in rows if r["benchmark"] == "resnet50"), "?")
line("ResNet-50 fwd+bwd, batch 2, 224²", med(("resnet50", "", "csharp"), "median_s"),
     med(("resnet50", "", "python"), "median_s"), "s", f"{threads} threads, OpenBLAS + oneDNN")
for impl, label in (("csharp", "Mask R-CNN R50-FPN inference, 800 px"), ("csharp_folded", "Mask R-CNN R50-FPN, FrozenBN folded into convs")):
    cs = by.get(("maskrcnn800", "", impl), [])
    py = by.get(("maskrcnn800", "", "torchvision"), [])
    rss = f"peak RSS {max(r['peak_rss_mb'] for r in cs)} MB vs {max(r['peak_rss_mb'] for r in py)} MB" if cs and py else ""
    dets = f"{cs[0]['detections']} vs {py[0]['detections']} detections" if cs and py else ""
    line(label, med(("maskrcnn800", "", impl), "median_s"), med(("maskrcnn800", "", "torchvision"), "median_s"), "s/img",
         f"{threads} threads; {dets}; {rss}")
mem_cs = by.get(("memory", "", "csharp"), [{}])[0]
mem_py = by.get(("memory", "", "python"), [{}])[0]
line("10,000 train iterations (small CNN) wall time", mem_cs.get("seconds"), mem_py.get("seconds"), "s", "1 thread")
line("RLE encode 640×480", med(("rle_encode_640x480", "", "csharp"), "ms"),
     med(("rle_encode_640x480", "", "pycocotools"), "ms"), "ms", "reference includes np.asfortranarray, which encode requires")
line("NMS 10,000 boxes (torchvision kernel via dispatcher)", med(("nms10k", "", "csharp"), "native_ms"),
     med(("nms10k", "", "torchvision"), "ms"), "ms", "1 thread")
line("NMS 10,000 boxes (composed fallback)", med(("nms10k", "", "csharp"), "composed_ms"),
     med(("nms10k", "", "torchvision"), "ms"), "ms", "used when torchvision's library is absent")
for t in ("bbox", "segm"):
    cs = by.get(("cocoeval", t, "csharp"), [])
    py = by.get(("cocoeval", t, "pycocotools"), [])
    same = "not measured" if not (cs and py) else "identical" if cs[0]["stats"] == py[0]["stats"] else "DIFFER"
    line(f"COCO {t} evaluate+accumulate, 5,000 images × 100 dets", med(("cocoeval", t, "csharp"), "seconds"),
         med(("cocoeval", t, "pycocotools"), "seconds"), "s",
         f"stats {same}; C# on {cs[0]['threads'] if cs else '?'} threads, pycocotools 1")
for widths in ("torchvision", "compact"):
    cs = by.get(("training", widths, "csharp"), [])
    py = by.get(("training", widths, "torchvision"), [])
    if not cs and not py:
        continue
    first = (cs or py)[0]
    params = sorted({r["trainable_parameters"] for r in cs + py})
    same = f"{params[0]:,} trainable parameters both" if len(params) == 1 else f"trainable parameters DIFFER: {params}"
    line(f"Mask R-CNN R18-FPN training, {widths} widths, batch 4 at 256×192", med(("training", widths, "csharp"), "images_per_s"),
         med(("training", widths, "torchvision"), "images_per_s"), "img/s",
         f"higher is better (goal ratio ≥ 1.0); {len(cs)} vs {len(py)} runs; {first['threads']} threads, "
         f"{first['workers']} loader worker(s), {first['iterations']} timed iterations after {first['warmup']}; {same}")
print()
print("Resident memory (MB) every 1,000 iterations:")
print(f"- C#: {[s[1] for s in mem_cs.get('iteration_rss_mb_managed_mb_live_tensors_finalized', [])]}"
      f" (live native tensors: {sorted({s[3] for s in mem_cs.get('iteration_rss_mb_managed_mb_live_tensors_finalized', [])})},"
      f" finalized: {max([s[4] for s in mem_cs.get('iteration_rss_mb_managed_mb_live_tensors_finalized', [])] or [0])})")
print(f"- Python: {[s[1] for s in mem_py.get('rss_mb_by_iteration', [])]}")
