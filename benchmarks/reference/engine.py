"""Python reference for benchmarks/MLNetSeg.Benchmarks (same workloads, same threads).
Run with Debian's /usr/bin/python3 (torch 1.13, OpenBLAS). Prints one JSON line."""
import json
import sys
import time

import torch


def overhead(iterations=200_000):
    torch.set_num_threads(1)
    a = torch.tensor([1.0])
    b = torch.tensor([2.0])
    for _ in range(20_000):
        torch.add(a, b)
    t0 = time.perf_counter()
    for _ in range(iterations):
        torch.add(a, b)
    dt = time.perf_counter() - t0
    return {"benchmark": "overhead", "impl": "python", "us_per_call": dt / iterations * 1e6}


if __name__ == "__main__":
    name = sys.argv[1]
    rest = [int(x) for x in sys.argv[2:]]
    print(json.dumps(globals()[name](*rest)))
