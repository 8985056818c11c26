#!/usr/bin/env bash
# Instruction count of the inspector on a fixed set of bodies (steady on a noisy machine).
# Usage: Benchmarks/inspect_callgrind.sh [N]   (first N JSON + N CSV + N NDJSON bodies of the inspect.sh corpus; default 60)
# Run Benchmarks/inspect.sh once first (it builds InspectBench and generates the corpus).
# BENCH=path/to/InspectBench measures another build (e.g. of the previous commit) on the same bodies.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-60}
corpus=Benchmarks/out/inspect/corpus
files=$( (ls "$corpus"/*.json | grep -v truth | sort | head -n "$n"; ls "$corpus"/*.csv | sort | head -n "$n"; ls "$corpus"/*.ndjson | sort | head -n "$n") )
echo "bodies: $(echo $files | wc -w), bytes: $(cat $files | wc -c) (each inspected 2x per set: warm-up + 1 round, sets mixed/json/ndjson/csv)"
# valgrind 3.19 gives up on the DWARF 5 debug info of the C kernels ("Possibly corrupted debuginfo
# file"), so it runs a copy without debug info (symbols stay: the profile still names functions).
bench=$(mktemp /tmp/InspectBench-callgrind.XXXXXX)
trap 'rm -f "$bench"' EXIT
objcopy --strip-debug "${BENCH:-.build/release/InspectBench}" "$bench"
valgrind --tool=callgrind --callgrind-out-file="${CALLGRIND_OUT:-Benchmarks/out/inspect/callgrind.out}" "$bench" --seconds 0 $files 2>&1 | grep -E "Collected|swift-inspector"
