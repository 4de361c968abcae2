#!/usr/bin/env bash
# Coverage-guided fuzzing campaign of one target of the fuzz harness (tests/Tools/Fuzz) with AFL++ and
# SharpFuzz (docs/reliability.md). The test suite's smoke is a bounded random mutation run; this is the
# long run, guided by branch coverage of our own assemblies.
#
#   tools/fuzz/campaign.sh TARGET [MINUTES]      e.g. tools/fuzz/campaign.sh polygons 60
#
# 1. installs AFL++ (apt, only if afl-fuzz is missing) and SharpFuzz.CommandLine 2.3.0 (a dotnet tool, into
#    out/fuzz/tools);
# 2. publishes tests/Tools/Fuzz to out/fuzz/publish and instruments the MLNetSeg.*.dll of a copy of it
#    (out/fuzz/instrumented) with `sharpfuzz`;
# 3. runs afl-fuzz for MINUTES (default 60) on the target's seeds (tests/fixtures/fuzz/TARGET/seeds), results in
#    out/fuzz/TARGET (queue = the inputs that found new paths, crashes = findings, hangs = inputs over -t);
# 4. replays every crash and hang with `mlnetseg-fuzz repro` (the plain build), which prints the verdict for each.
# Exit status: 0 when no crash was found, 1 when some were (they are listed), 2 on a usage or setup error.
# AFL++ normally wants root to set core_pattern and the CPU governor; the environment variables below make
# it run without changing any system setting.
set -euo pipefail

target=${1:?usage: campaign.sh TARGET [MINUTES]}
minutes=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/out/fuzz
seeds=$root/tests/fixtures/fuzz/$target/seeds
[[ -d $seeds ]] || { echo "no seeds at $seeds (targets: dotnet mlnetseg-fuzz.dll list)" >&2; exit 2; }

if ! command -v afl-fuzz >/dev/null; then
    echo "installing AFL++" >&2
    apt-get install -y -qq afl++ >/dev/null
fi
if [[ ! -x $out/tools/sharpfuzz ]]; then
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$out/tools" >/dev/null
fi

# Publish, then instrument a copy: our assemblies only (the framework and packages stay as they are).
# The replay must use the plain build: instrumented code writes to AFL's shared coverage map, and outside
# afl-fuzz, where there is none, that is an AccessViolationException in the first instrumented method.
publish=$out/publish
instrumented=$out/instrumented
rm -rf "$publish" "$instrumented"
dotnet publish "$root/tests/Tools/Fuzz/MLNetSeg.Fuzz.csproj" -c Release -o "$publish" -nologo -v q >/dev/null
cp -r "$publish" "$instrumented"
for dll in "$instrumented"/MLNetSeg.*.dll; do
    "$out/tools/sharpfuzz" "$dll" >/dev/null 2>&1 || echo "sharpfuzz: $(basename "$dll") not instrumented (no code to instrument)" >&2
done
# The native shim (libtorch, OpenCV) is found next to the harness.
export LD_LIBRARY_PATH=$instrumented${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_SKIP_BIN_CHECK=1
export AFL_NO_UI=1 AFL_AUTORESUME=1
findings=$out/$target
mkdir -p "$findings"
echo "afl-fuzz on $target for $minutes min: $findings" >&2
afl-fuzz -i "$seeds" -o "$findings" -t 10000 -m none -V $((minutes * 60)) -- \
    dotnet "$instrumented/mlnetseg-fuzz.dll" afl --target "$target" || true

stats=$findings/default/fuzzer_stats
if [[ -f $stats ]]; then
    grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|stability) ' "$stats" >&2
fi
mapfile -t crashes < <(find "$findings/default/crashes" "$findings/default/hangs" -type f -name 'id:*' 2>/dev/null | sort)
if (( ${#crashes[@]} == 0 )); then
    echo "no crashes or hangs" >&2
    exit 0
fi
echo "${#crashes[@]} crash/hang inputs; replaying:" >&2
dotnet "$publish/mlnetseg-fuzz.dll" repro --target "$target" "${crashes[@]}" || true
exit 1
