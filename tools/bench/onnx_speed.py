"""ONNX Runtime (OnnxSegmentationPredictor) against torchvision 0.14 on the same weights, image and threads,
run alternately in one session (docs/benchmarks.md, "ONNX Runtime").

Two long-lived workers answer one command per line: the C# one (MLNetSeg.Benchmarks onnx-worker, one
predictor per configuration = model file, graph optimisation level, intra-op threads) and the Python one
(tools/bench/torchvision_worker.py, torch.set_num_threads). After WARMUP runs of each, every round runs
each ONNX configuration and torchvision once, in an order that rotates from round to round, so slow
phases of a shared machine hit every side alike (the 1-minute load average after each round is recorded). Reported per configuration: median, min, max of the
graph time (pixels -> flat rows -> session.Run) and of the C# mask paste (OnnxDetections.ToInstances:
paste + RLE; absent while the C# paste is a placeholder), the full time (their sum; and the public
Predict(Image) timed in one call when --predict is given), and the ratio to torchvision's full forward
as the ratio of medians and as the median of each round's ratio (ONNX run / the torchvision run of the
same round). One JSON line per configuration is appended to RESULTS.

Usage: /usr/bin/python3 tools/bench/onnx_speed.py DIR [--runs 7] [--warmup 2] [--threads 2]
         [--config NAME=MODEL.onnx:LEVEL:THREADS ...] [--predict NAME] [--results FILE] [--tv-batchnorm]
DIR holds maskrcnn_r50_random.pth, scene.png and the .onnx files (tools/bench/onnx_bench.sh makes them);
MODEL paths are relative to DIR. Default configuration: float=maskrcnn_r50.onnx:all:2."""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH_DLL = os.path.join(ROOT, "benchmarks", "MLNetSeg.Benchmarks", "bin", "Release", "net10.0", "MLNetSeg.Benchmarks.dll")


class Worker:
    def __init__(self, name, argv, cwd):
        self.name = name
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.ready = self.read()

    def read(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} worker exited (code {self.proc.poll()})")
            line = line.strip()
            if line.startswith("{"):
                reply = json.loads(line)
                if "error" in reply:
                    raise RuntimeError(f"{self.name}: {reply['error']}")
                return reply

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        except Exception:
            self.proc.kill()


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def parity(onnx_path, tv_path):
    """Each ONNX detection matched to the torchvision detection of the same label with the closest box (near-equal
    scores may swap places between the sides): how many match within 0.1 px and 1e-4 in score, and the largest
    differences among the matches."""
    a, b = json.load(open(onnx_path)), json.load(open(tv_path))
    matched, box_diff, score_diff = 0, 0.0, 0.0
    for i in range(len(a["scores"])):
        best = None
        for j in range(len(b["scores"])):
            if b["labels"][j] != a["labels"][i]:
                continue
            diff = max(abs(x - y) for x, y in zip(a["boxes"][i], b["boxes"][j]))
            if best is None or diff < best[0]:
                best = (diff, abs(a["scores"][i] - b["scores"][j]))
        if best is not None and best[0] <= 0.1 and best[1] <= 1e-4:
            matched += 1
            box_diff, score_diff = max(box_diff, best[0]), max(score_diff, best[1])
    return {"onnx_detections": len(a["scores"]), "torchvision_detections": len(b["scores"]), "matched": matched,
            "max_box_diff_px": round(box_diff, 4), "max_score_diff": round(score_diff, 7)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--config", action="append", default=[])
    p.add_argument("--predict", action="append", default=[])
    p.add_argument("--results", default=None)
    p.add_argument("--tv-batchnorm", action="store_true")
    p.add_argument("--no-parity", action="store_true")
    args = p.parse_args()
    d = os.path.abspath(args.dir)
    configs = args.config or ["float=maskrcnn_r50.onnx:all:2"]
    names = [c.split("=", 1)[0] for c in configs]
    results = args.results or os.path.join(ROOT, "benchmarks", "results",
                                           datetime.datetime.utcnow().strftime("%Y%m%dT%H%MZ") + "_onnx.jsonl")
    nice = ["nice", "-n", "10"]
    ort = Worker("onnx", nice + ["dotnet", BENCH_DLL, "onnx-worker", os.path.join(d, "scene.png")] + configs, d)
    tv = Worker("torchvision", nice + [sys.executable, os.path.join(ROOT, "tools", "bench", "torchvision_worker.py"),
                                       os.path.join(d, "maskrcnn_r50_random.pth"), os.path.join(d, "scene.png"), str(args.threads)]
                + (["--batchnorm"] if args.tv_batchnorm else []), d)
    print(json.dumps(ort.ready), json.dumps(tv.ready), file=sys.stderr)
    try:
        for _ in range(args.warmup):
            tv.ask("run")
            for n in names:
                ort.ask(f"run {n}")
            for n in args.predict:
                ort.ask(f"predict {n}")
        check = None
        if not args.no_parity:
            ort.ask(f"dump {names[0]} {os.path.join(d, 'onnx_dets.json')}")
            tv.ask(f"dump {os.path.join(d, 'torchvision_dets.json')}")
            check = parity(os.path.join(d, "onnx_dets.json"), os.path.join(d, "torchvision_dets.json"))
            print(json.dumps({"parity": names[0], **check}), file=sys.stderr)
        tv_times, tv_dets = [], set()
        rows = {n: {"graph": [], "paste": [], "full": [], "ratio": [], "dets": set()} for n in names}
        predicted = {n: [] for n in args.predict}
        loads = []
        jobs = ["tv"] + [("run", n) for n in names] + [("predict", n) for n in args.predict]
        for r in range(args.runs):
            order = jobs[r % len(jobs):] + jobs[:r % len(jobs)]
            round_times = {}
            for job in order:
                if job == "tv":
                    reply = tv.ask("run")
                    tv_times.append(reply["s"])
                    tv_dets.add(reply["detections"])
                    round_tv = reply["s"]
                elif job[0] == "run":
                    reply = ort.ask(f"run {job[1]}")
                    row = rows[job[1]]
                    row["graph"].append(reply["s_graph"])
                    row["dets"].add(reply["detections"])
                    if reply["s_paste"] is not None:
                        row["paste"].append(reply["s_paste"])
                    round_times[job[1]] = reply["s_graph"] + (reply["s_paste"] or 0.0)
                    row["full"].append(round_times[job[1]])
                else:
                    reply = ort.ask(f"predict {job[1]}")
                    if reply["s"] is not None:
                        predicted[job[1]].append(reply["s"])
            for n in names:
                rows[n]["ratio"].append(round_times[n] / round_tv)
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1} (load {loads[-1]:.1f}): torchvision {round_tv:.2f} s; " +
                  ", ".join(f"{n} {round_times[n]:.2f} s" for n in names), file=sys.stderr)
    finally:
        ort.close()
        tv.close()

    tv_median = statistics.median(tv_times)
    stamp = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(results, "a") as f:
        tv_line = {"benchmark": "onnx_maskrcnn800", "impl": tv.ready["impl"], "time": stamp, "threads": args.threads,
                   "full_s": spread(tv_times), "detections": sorted(tv_dets),
                   "load_avg_1min": [round(x, 1) for x in loads], "cpus": os.cpu_count()}
        f.write(json.dumps(tv_line) + "\n")
        print(json.dumps(tv_line))
        for c, n in zip(configs, names):
            row = rows[n]
            line = {"benchmark": "onnx_maskrcnn800", "impl": "onnxruntime", "time": stamp, "config": c,
                    "graph_s": spread(row["graph"]), "paste_s": spread(row["paste"]) if row["paste"] else None,
                    "full_s": spread(row["full"]), "paste_included": bool(row["paste"]),
                    "predict_s": spread(predicted[n]) if predicted.get(n) else None,
                    "detections": sorted(row["dets"]),
                    "ratio_of_medians": round(statistics.median(row["full"]) / tv_median, 3),
                    "median_round_ratio": round(statistics.median(row["ratio"]), 3),
                    "round_ratios": [round(x, 3) for x in row["ratio"]]}
            if check is not None and n == names[0]:
                line["parity"] = check
            f.write(json.dumps(line) + "\n")
            print(json.dumps(line))
    print(f"results appended to {results}", file=sys.stderr)


if __name__ == "__main__":
    main()
