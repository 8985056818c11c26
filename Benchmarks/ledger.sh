#!/usr/bin/env bash
# Ledger benchmark: durable subjects/s with group commit vs plain SQLite (and CPU per subject),
# the file's size, rebuild and memory, membership checks/s, log cleaning.
# Usage: Benchmarks/ledger.sh [subjects]   (default 1,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
subjects="${1:-1000000}"
swift build -c release --product LedgerBench >&2
bin="$(swift build -c release --show-bin-path)/LedgerBench"
dir="$(mktemp -d "${TMPDIR:-/tmp}/ledgerbench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); SQLite $(pkg-config --modversion sqlite3); disk $(df -h --output=source,fstype "$dir" | tail -1)"
"$bin" write --subjects "$subjects" --producers 64 --batch 50 --dir "$dir"
"$bin" reopen --dir "$dir"
# New people counted in three categories each (six series per person, as a body with several
# kinds of PI counts), in a ledger of its own.
mkdir -p "$dir/categories"
"$bin" write --subjects "$((subjects / 2))" --producers 64 --batch 50 --categories 3 --dir "$dir/categories"
"$bin" membership --subjects "$subjects" --lookups 50000000
"$bin" clean --subjects 200000 --rounds 5 --dir "$dir"
