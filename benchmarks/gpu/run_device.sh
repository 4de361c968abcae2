#!/usr/bin/env bash
# The CUDA path on a GPU host (issue 18; docs/benchmarks.md "GPU"). Builds libmlnetseg_native
# against the host's PyTorch wheel (its CUDA libtorch; no OpenCV there, so without image IO),
# then runs GpuBenchmarks (from the bundle benchmarks/gpu/publish.sh made) and the torchvision
# reference (benchmarks/reference/gpu.py) alternately, ROUNDS times each, on the same GPU.
# One JSON line per run in $OUT/gpu.jsonl; the whole log in $OUT/gpu.log.
#   bash benchmarks/gpu/run_device.sh .gpu/bench.tar.xz [ROUNDS=3]
# SECTIONS="inference training mixed" (default: all; "smoke" is one short inference run) picks the parts; "mixed" is the float16/bfloat16
# autocast runs (training with loss scaling, inference) against torch.autocast/GradScaler.
set -uo pipefail
BUNDLE=${1:?usage: run_device.sh BUNDLE [ROUNDS]}
ROUNDS=${2:-3}
OUT=${OUT:-$PWD/out/gpu}
mkdir -p "$OUT"
RESULTS="$OUT/gpu.jsonl"
: > "$RESULTS"
exec > >(tee -a "$OUT/gpu.log") 2>&1

TORCH=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
TV=$(python3 -c 'import os, torchvision; print(os.path.dirname(torchvision.__file__))')
ABI=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch, torchvision; print("torch", torch.__version__, "CUDA", torch.version.cuda, "torchvision", torchvision.__version__)'
echo "cores: $(nproc); C++11 ABI: $ABI; $(c++ --version | head -1)"

SECTIONS=${SECTIONS:-inference training mixed}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
echo "== native shim against $TORCH"
SECONDS=0
cmake -S src/Native -B /tmp/mls-native -G Ninja -DTORCH_ROOT="$TORCH" -DMLNETSEG_IMAGE_IO=OFF -DMLNETSEG_DISTRIBUTED=OFF \
  -DCMAKE_CXX_STANDARD=20 -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$ABI" >/dev/null \
  && cmake --build /tmp/mls-native -j "$(nproc)" || { echo "native build failed"; exit 1; }
echo "built in ${SECONDS}s"
ldd /tmp/mls-native/libmlnetseg_native.so | grep -E "torch|c10|not found"

mkdir -p /tmp/mls-bench && tar -xJf "$BUNDLE" -C /tmp/mls-bench
export MLNETSEG_NATIVE=/tmp/mls-native/libmlnetseg_native.so MLNETSEG_TORCHVISION_LIB="$TV/_C.so"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 PYTHONUNBUFFERED=1
APP=/tmp/mls-bench/MLNetSeg.Benchmarks
# torchvision's kernels (RoIAlign, NMS) live in its Python extension _C.so; a wheel's links
# libtorch_python and so libpython, which a .NET process does not have loaded: preloading both
# lets it load (no Python code runs: its operators register from static initialisers).
echo "torchvision _C.so needs: $(ldd "$TV/_C.so" | grep -oE "lib(torch_python|python[0-9.]*)[^ ]*|[^ ]+ => not found" | tr '\n' ' ')"
PYLIB=$(python3 -c 'import os, sysconfig as s; print(os.path.join(s.get_config_var("LIBDIR"), s.get_config_var("INSTSONAME")))')
NATIVE_OPS_PRELOAD="$PYLIB $TORCH/lib/libtorch_python.so"
echo "preload for torchvision's kernels: $NATIVE_OPS_PRELOAD"

# Runs one benchmark process; its last line (the JSON) goes to the results, everything to the log.
run() {
  local last
  last=$(timeout 240 "$@" 2>&1 | tee -a "$OUT/runs.log" | tail -1)
  echo "$last"
  if [[ "$last" == "{"* ]]; then echo "$last" >> "$RESULTS"; else echo "FAILED: $*"; tail -25 "$OUT/runs.log"; fi
}
want smoke && echo "== smoke: torchvision's kernels loaded by TorchvisionNative itself (no LD_PRELOAD)"
want smoke && run "$APP" gpu-maskrcnn 10 cuda
want inference && echo "== inference (R50-FPN, 800 px)"
want inference && for _ in $(seq "$ROUNDS"); do
  run python3 benchmarks/reference/gpu.py maskrcnn 50 cuda
  MLNETSEG_TORCHVISION_LIB=none run "$APP" gpu-maskrcnn 50 cuda
  LD_PRELOAD="$NATIVE_OPS_PRELOAD" run "$APP" gpu-maskrcnn 50 cuda
done
want training && echo "== training (R50-FPN, 800 px, batch 2)"
want training && for _ in $(seq "$ROUNDS"); do
  run python3 benchmarks/reference/gpu.py training 30 2 cuda
  MLNETSEG_TORCHVISION_LIB=none run "$APP" gpu-training 30 2 cuda
  LD_PRELOAD="$NATIVE_OPS_PRELOAD" run "$APP" gpu-training 30 2 cuda
done
want mixed && echo "== mixed precision (autocast; fp16 training with loss scaling), torchvision's kernels in both"
want mixed && for _ in $(seq "$ROUNDS"); do
  for p in fp32 bf16 fp16; do
    run python3 benchmarks/reference/gpu.py training 30 2 cuda "$p"
    LD_PRELOAD="$NATIVE_OPS_PRELOAD" run "$APP" gpu-training 30 2 cuda "$p"
    run python3 benchmarks/reference/gpu.py maskrcnn 50 cuda "$p"
    LD_PRELOAD="$NATIVE_OPS_PRELOAD" run "$APP" gpu-maskrcnn 50 cuda "$p"
  done
done
