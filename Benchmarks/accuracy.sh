#!/usr/bin/env bash
# Recall/precision per kind of `customs inspect` on a large generated labelled corpus and on pii-sample.
# Usage: Benchmarks/accuracy.sh [BYTES] [SEED]   (default 16 MiB, seed 2026)
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-16777216}; seed=${2:-2026}
python3 -c 'import faker' 2>/dev/null || Deploy/install-deps.sh test
swift build -c release --product customs >&2
bin=.build/release/customs
out=Benchmarks/out/corpus-$seed
rm -rf "$out"
python3 Benchmarks/corpus/generate_corpus.py "$out" --bytes "$bytes" --seed "$seed"
echo "## Generated corpus: $(ls "$out" | grep -vc -e truth -e manifest) bodies, $bytes bytes, seed $seed"
python3 Benchmarks/corpus/accuracy.py "$bin" "$out"
shared=../shared/data/pii-sample
[ -d "$shared" ] || shared=/work/shared/data/pii-sample
echo
echo "## pii-sample"
python3 Benchmarks/corpus/accuracy.py "$bin" "$shared/bodies" "$shared/text"
