#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine (with the .NET SDK) to build and run MLNetSeg, and
# builds it. Idempotent and quiet: when everything is present it only runs the incremental
# builds. Used by both README commands (tools/quickstart.sh and tools/test.sh).
#
#   apt: libtorch 1.13 (engine), OpenBLAS (libtorch's BLAS; Debian's default is ~5x slower),
#        OpenCV 4.6 (image codec), Gloo's headers (distributed training through libtorch's c10d),
#        cmake/g++ (native shim), python3-torchvision (its native
#        roi_align/nms kernels are loaded at run time; python3-torch is also the fixture reference),
#        chromium (the headless browser the HTML report tests drive through Playwright)
#   dotnet tools: dotnet-repl (runs samples/notebooks headless)
#   build: src/Native (CMake, incremental) and MLNetSeg.sln (Release)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { [ -n "${MLNETSEG_VERBOSE:-}" ] && echo "setup: $*" >&2 || true; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_PACKAGES=(libtorch-dev libgloo-dev libopenblas0-pthread libopencv-dev cmake g++ make python3-torchvision python3-numpy chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (apt, once)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# OpenBLAS must be the libblas.so.3 that libtorch binds (it is, unless pinned by hand).
blas_alt=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [ "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null)" != "$blas_alt" ]; then
  echo "setup: selecting OpenBLAS as libblas.so.3" >&2
  as_root update-alternatives --quiet --set libblas.so.3-x86_64-linux-gnu "$blas_alt"
fi

# Native shim (incremental).
NATIVE_BUILD="$ROOT/src/Native/build"
if [ ! -f "$NATIVE_BUILD/CMakeCache.txt" ]; then
  log "configuring src/Native"
  cmake -S src/Native -B "$NATIVE_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! make -C "$NATIVE_BUILD" -j"$(nproc)" --no-print-directory -s >/tmp/mlnetseg-native-build.log 2>&1; then
  cat /tmp/mlnetseg-native-build.log >&2
  echo "setup: native build failed (log above)" >&2
  exit 1
fi

# .NET local tools (.config/dotnet-tools.json): dotnet-repl runs the notebooks headless.
if ! dotnet tool restore >/tmp/mlnetseg-tool-restore.log 2>&1; then
  cat /tmp/mlnetseg-tool-restore.log >&2
  echo "setup: dotnet tool restore failed (log above)" >&2
  exit 1
fi

# .NET solution.
if [ -z "${MLNETSEG_SKIP_DOTNET_BUILD:-}" ]; then
  if ! dotnet build MLNetSeg.sln -c Release -nologo -v q -clp:ErrorsOnly >/tmp/mlnetseg-dotnet-build.log 2>&1; then
    cat /tmp/mlnetseg-dotnet-build.log >&2
    echo "setup: dotnet build failed (log above)" >&2
    exit 1
  fi
fi
log "ready"
