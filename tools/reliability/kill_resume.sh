#!/usr/bin/env bash
# kill -9 campaign of docs/reliability.md ("Faults"): runs the real `mlnetseg train` as a child
# process, SIGKILLs it at seeded-random moments (during checkpoint writes, right after metrics.jsonl
# appends, inside iterations, during start-up/resume) KILLS times in a row, resuming after each, and
# checks that every run resumes from the last complete checkpoint, metrics.jsonl stays well-formed and
# the final weights equal an uninterrupted run's bit for bit. Prints one line per kill (what it hit).
#
#   tools/reliability/kill_resume.sh [KILLS=20] [SEED=17]
#
# Runs the test KillResumeTests in tests/MLNetSeg.Reliability.Tests (MLNETSEG_KILLS / MLNETSEG_KILL_SEED
# choose the number of kills and the seed; the suite runs it with its defaults).
set -euo pipefail
cd "$(dirname "$0")/../.."
export MLNETSEG_KILLS="${1:-20}" MLNETSEG_KILL_SEED="${2:-17}"
dotnet build tests/MLNetSeg.Reliability.Tests/MLNetSeg.Reliability.Tests.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet test tests/MLNetSeg.Reliability.Tests/MLNetSeg.Reliability.Tests.csproj -c Release --no-build \
  --filter "FullyQualifiedName~Faults.KillResumeTests" --logger "console;verbosity=detailed"
