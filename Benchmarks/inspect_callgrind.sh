#!/usr/bin/env bash
# Instruction count of the inspector on a fixed set of bodies (steady on a noisy machine).
# Usage: Benchmarks/inspect_callgrind.sh [N] [SET]
#   SET fixed (default): the first N JSON + N CSV + N NDJSON bodies of the inspect.sh corpus (N default 60)
#   SET mixed: every Nth body (N default 10) of inspect.sh's whole mixed corpus (JSON, NDJSON, CSV,
#     form, in the corpus's proportions: issue 4's measure)
#   SET json | ndjson | csv | form: every Nth body (default 10) of that type alone
#   SET gateway: the first N (default 20) of issue 6's gateway bodies (Benchmarks/out/inspect/pi-500)
# Each body is inspected 2x per set InspectBench makes of it (warm-up + 1 round; sets mixed and
# one per type), so the per-type sets count 4 passes over their bytes, `mixed` 4 too.
# Run Benchmarks/inspect.sh once first (it builds InspectBench and generates the corpus).
# BENCH=path/to/InspectBench measures another build (e.g. of the previous commit) on the same bodies.
set -euo pipefail
cd "$(dirname "$0")/.."
set_=${2:-fixed}
corpus=Benchmarks/out/inspect/corpus
bodies() { ls "$@" | grep -v truth | sort; }
every() { awk -v n="$1" 'NR % n == 1 || n == 1'; }
case "$set_" in
  fixed)
    n=${1:-60}
    files=$(for t in json csv ndjson; do bodies "$corpus"/*.$t | sed -n "1,${n}p"; done) ;;
  mixed) files=$(bodies "$corpus"/*.json "$corpus"/*.ndjson "$corpus"/*.csv "$corpus"/*.form | every "${1:-10}") ;;
  gateway) files=$(bodies Benchmarks/out/inspect/pi-500/*.json | sed -n "1,${1:-20}p") ;;
  json|ndjson|csv|form) files=$(bodies "$corpus"/*."$set_" | every "${1:-10}") ;;
  *) echo "unknown set $set_" >&2; exit 2 ;;
esac
echo "set $set_: $(echo $files | wc -w) bodies, $(cat $files | wc -c) bytes"
# valgrind 3.19 gives up on the DWARF 5 debug info of the C kernels ("Possibly corrupted debuginfo
# file"), so it runs a copy without debug info (symbols stay: the profile still names functions).
bench=$(mktemp /tmp/InspectBench-callgrind.XXXXXX)
trap 'rm -f "$bench"' EXIT
objcopy --strip-debug "${BENCH:-.build/release/InspectBench}" "$bench"
valgrind --tool=callgrind --callgrind-out-file="${CALLGRIND_OUT:-Benchmarks/out/inspect/callgrind.out}" "$bench" --seconds 0 $files 2>&1 | grep -E "Collected|swift-inspector"
