#!/usr/bin/env bash
# Packs the benchmark program for a GPU host that has no .NET SDK (run_device.sh unpacks it):
# a self-contained linux-x64 publish of benchmarks/MLNetSeg.Benchmarks without the native
# libraries the GPU benchmarks never load (ONNX Runtime, Skia, ML.NET's), compressed to fit
# the device tool's 64 MiB transfer. Writes .gpu/bench.tar.xz (.gpu/ is git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STAGE=.gpu/stage
rm -rf "$STAGE"
dotnet publish benchmarks/MLNetSeg.Benchmarks -c Release -r linux-x64 --self-contained true \
  -p:InvariantGlobalization=true -nologo -v q -clp:ErrorsOnly -o "$STAGE/app"
(cd "$STAGE/app" && rm -f ./*onnxruntime* ./*.dbg libSkiaSharp.so libLdaNative.so libmscordaccore.so libmscordbi.so \
  libcoreclrtraceptprovider.so libmlnetseg_native.so)
mkdir -p .gpu
tar -C "$STAGE/app" -cJf .gpu/bench.tar.xz .
rm -rf "$STAGE"
ls -la .gpu/bench.tar.xz
