#!/usr/bin/env bash
# Inspector speed vs Hyperscan+checksums and a C digit-run loop, same bodies, same core.
# Usage: Benchmarks/inspect.sh [BYTES] [SECONDS]   (default 16 MiB of mixed JSON/NDJSON/CSV/form, 5 s each)
# Then the gateway benchmark's body shape (Benchmarks/gateway/pibodies.py: 16 KiB JSON, 50 resident IDs
# each; PI_BODIES of them, default 500, one file each) through the same programs.
# BASE_BENCH=path/to/InspectBench also runs an older build (e.g. of the previous commit) in the same run.
# All three programs report MB per second of their own CPU time, so other load on the core does not count.
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-16777216}; secs=${2:-5}
dpkg-query -W -f='${Status}' libhyperscan-dev 2>/dev/null | grep -q "install ok installed" || apt-get install -y libhyperscan-dev >&2
python3 -c 'import faker' 2>/dev/null || Deploy/install-deps.sh test
out=Benchmarks/out/inspect
mkdir -p "$out"
swift build -c release --product InspectBench >&2
gcc -O2 -march=native -o "$out/hs_driver" Benchmarks/inspect/hs_driver.c -lhs
gcc -O2 -march=native -o "$out/digitrun" Benchmarks/inspect/digitrun.c
corpus="$out/corpus"
if [ ! -f "$corpus/.bytes-$bytes" ]; then
  rm -rf "$corpus"
  # Oversize the corpus: only the JSON/NDJSON/CSV/form bodies are kept.
  python3 Benchmarks/corpus/generate_corpus.py "$corpus" --bytes $((bytes * 7 / 4)) --seed 99
  touch "$corpus/.bytes-$bytes"
fi
files=$(ls "$corpus"/*.json "$corpus"/*.ndjson "$corpus"/*.csv "$corpus"/*.form 2>/dev/null | grep -v truth)
json=$(ls "$corpus"/*.json | grep -v truth)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); pinned to core 1"
echo "mixed corpus: $(cat $files | wc -c) bytes in $(echo $files | wc -w) bodies; JSON only: $(cat $json | wc -c) bytes"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 1 .build/release/InspectBench --seconds "$secs" $files
if [ -n "${BASE_BENCH:-}" ]; then
  echo "-- baseline: $BASE_BENCH --"
  taskset -c 1 "$BASE_BENCH" --seconds "$secs" $files
fi
echo "-- mixed --"
taskset -c 1 "$out/hs_driver" "$secs" $files
taskset -c 1 "$out/digitrun" "$secs" $files
echo "-- json --"
taskset -c 1 "$out/hs_driver" "$secs" $json
taskset -c 1 "$out/digitrun" "$secs" $json

pi="$out/pi-${PI_BODIES:-500}"
if [ ! -d "$pi" ]; then
  mkdir -p "$pi.tmp"
  python3 Benchmarks/gateway/pibodies.py "$pi.tmp/bodies.jsonl" "${PI_BODIES:-500}"
  split -l 1 -a 4 -d --additional-suffix=.json "$pi.tmp/bodies.jsonl" "$pi.tmp/"
  rm "$pi.tmp/bodies.jsonl"
  mv "$pi.tmp" "$pi"
fi
echo "-- gateway bodies: $(ls "$pi" | wc -l) x 16 KiB JSON, 50 resident IDs each (mixed = json here) --"
taskset -c 1 .build/release/InspectBench --seconds "$secs" "$pi"/*.json | grep -E "mixed|json "
if [ -n "${BASE_BENCH:-}" ]; then
  taskset -c 1 "$BASE_BENCH" --seconds "$secs" "$pi"/*.json | grep -E "json "
fi
taskset -c 1 "$out/hs_driver" "$secs" "$pi"/*.json
taskset -c 1 "$out/digitrun" "$secs" "$pi"/*.json
