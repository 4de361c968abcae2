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


def resnet50(runs=5, threads=2):
    import torchvision
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet50()
    model.train()
    x = torch.randn(2, 3, 224, 224)

    def step():
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    step()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"benchmark": "resnet50", "impl": "python", "threads": threads,
            "median_s": times[len(times) // 2], "runs": times}


def memory(iterations=10_000):
    """Same loop as EngineBenchmarks.Memory: RSS (MB) every 1,000 iterations."""
    import resource
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU())
    head = nn.Linear(32, 10)
    opt = torch.optim.SGD(list(model.parameters()) + list(head.parameters()), lr=0.01, momentum=0.9)
    samples = []
    t0 = time.perf_counter()
    for i in range(1, iterations + 1):
        x = torch.randn(8, 3, 32, 32)
        target = torch.randint(0, 10, (8,))
        logits = head(torch.nn.functional.adaptive_avg_pool2d(model(x), 1).flatten(1))
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i % 1000 == 0:
            with open("/proc/self/statm") as f:
                rss_pages = int(f.read().split()[1])
            samples.append([i, rss_pages * resource.getpagesize() // (1024 * 1024)])
    return {"benchmark": "memory", "impl": "python", "seconds": round(time.perf_counter() - t0, 1),
            "rss_mb_by_iteration": samples}


if __name__ == "__main__":
    name = sys.argv[1]
    rest = [int(x) for x in sys.argv[2:]]
    print(json.dumps(globals()[name](*rest)))
