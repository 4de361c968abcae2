#!/usr/bin/env bash
# Builds the NuGet packages (MLNetSeg, MLNetSeg.MLNet, MLNetSeg.Onnx, the MLNetSeg.Cli tool) into a folder feed, default out/packages:
#   bash tools/pack.sh [FOLDER]
# then, in your project: dotnet add package MLNetSeg.MLNet --source FOLDER
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/out/packages}")"
cd "$ROOT"
bash tools/setup.sh
for project in packaging/MLNetSeg/MLNetSeg.csproj packaging/MLNetSeg.MLNet/MLNetSeg.MLNet.csproj packaging/MLNetSeg.Onnx/MLNetSeg.Onnx.Package.csproj src/Cli/MLNetSeg.Cli.csproj; do
  dotnet pack "$project" -c Release --no-build -o "$OUT" -nologo -v q -clp:ErrorsOnly
done
ls "$OUT"/*.nupkg
