#!/usr/bin/env bash
# One digest of every result of the inspector over the bodies the speed rounds check: the speed
# corpus (inspect.sh's, seed 99), the seed-2026 accuracy corpus (accuracy.sh 8388608 2026),
# pii-sample (bodies and text) and the first 200 gateway bodies. A speed change must keep it
# byte-identical (records, per-kind counts, every subject's key, kinds, sensitivity and mask).
# Usage: Benchmarks/inspect_digest.sh [OUT]   (BENCH=path/to/InspectBench digests another build;
# OUT keeps the full per-body text for a diff)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/data/pii-sample
[ -d "$shared" ] || shared=/work/shared/data/pii-sample
gateway=(Benchmarks/out/inspect/pi-500/*.json)
files="$(ls Benchmarks/out/inspect/corpus/* Benchmarks/out/corpus-2026/* "$shared"/bodies/* "$shared"/text/* | grep -v -e truth -e manifest) ${gateway[*]:0:200}"
out=${1:-$(mktemp /tmp/inspect-digest.XXXXXX)}
"${BENCH:-.build/release/InspectBench}" --digest $files > "$out"
echo "bodies: $(wc -l < "$out"), md5: $(md5sum < "$out" | cut -c1-32)"
[ -n "${1:-}" ] || rm -f "$out"
