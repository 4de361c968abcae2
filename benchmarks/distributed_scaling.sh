#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/benchmarks.md, "Distributed training"): training images/s
# of the benchmark's Mask R-CNN (benchmarks/MLNetSeg.Benchmarks "training": ResNet-18-FPN, compact widths,
# batch 4 per process at 256×192) with 1 and 2 processes of 1 thread each (torchrun's environment, Gloo on
# the loopback), alternated REPEATS times, and the all-reduce time of that model's gradient (all its
# trainable parameters, float32) between 2 processes. Appends JSON lines to benchmarks/results/ and
# prints the medians, the scaling efficiency and the communication share.
#   bash benchmarks/distributed_scaling.sh          (REPEATS=3 ITERS=20 WARMUP=5 by default)
# Run it alone: the two processes need both cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup.sh
REPEATS="${REPEATS:-3}" ITERS="${ITERS:-20}" WARMUP="${WARMUP:-5}"
OUT="${RESULTS:-benchmarks/results/$(date -u +%Y%m%dT%H%M%SZ)_distributed.jsonl}"
B="dotnet benchmarks/MLNetSeg.Benchmarks/bin/Release/net10.0/MLNetSeg.Benchmarks.dll"
mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# world N BENCHMARK ARGS...: N processes of one thread each; rank 0's JSON line goes to $OUT.
world() {
  local n=$1; shift
  local port
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local pids=()
  for ((r = 0; r < n; r++)); do
    WORLD_SIZE=$n RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port MLNETSEG_THREADS=1 $B "$@" >"$TMP/rank$r" 2>"$TMP/err$r" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$TMP"/err* >&2; exit 1; }; done
  grep '^{' "$TMP/rank0" | tee -a "$OUT"
}

for ((i = 0; i < REPEATS; i++)); do
  for n in 1 2; do world "$n" training compact "$ITERS" 1 "$WARMUP" 1; done
done
PARAMS=$(grep '"benchmark":"training"' "$OUT" | tail -1 | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["trainable_parameters"])')
for ((i = 0; i < REPEATS; i++)); do world 2 allreduce "$PARAMS" 10; done

/usr/bin/python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
train = {n: [r for r in rows if r["benchmark"] == "training" and r.get("processes", 1) == n] for n in (1, 2)}
ips = {n: statistics.median(r["images_per_s"] for r in train[n]) for n in (1, 2)}
step2 = statistics.median(r["median_s_per_iter"] for r in train[2])
ar = [r for r in rows if r["benchmark"] == "allreduce"]
t_ar = statistics.median(r["median_s"] for r in ar)
print(f"1 process : {ips[1]:.2f} images/s (batch 4, 1 thread)")
print(f"2 processes: {ips[2]:.2f} images/s (batch 4 each); speed-up {ips[2] / ips[1]:.2f}x, efficiency {ips[2] / ips[1] / 2:.0%}")
print(f"all-reduce of {ar[-1]['elements']:,} float32 gradients between 2 processes: {t_ar * 1000:.1f} ms "
      f"({statistics.median(r['bus_GBps'] for r in ar):.2f} GB/s bus bandwidth); {t_ar / step2:.0%} of a 2-process step ({step2:.2f} s)")
PY
