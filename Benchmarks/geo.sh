#!/bin/sh
# Geo benchmark: the Swift country table against a plain C binary search over the same ranges
# and libmaxminddb (MMDB_MODE_MMAP) on an .mmdb written from the same table, on the same random
# address sets, in one run, pinned to one core.
#   Benchmarks/geo.sh [COUNT] [ROUNDS]     (needs gcc, libmaxminddb-dev)
set -eu
cd "$(dirname "$0")/.."
COUNT=${1:-1000000}
ROUNDS=${2:-5}
CPU=${GEO_BENCH_CPU:-1}
WORK=.build/geo-bench
mkdir -p "$WORK"
for pkg in gcc libmaxminddb-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || { echo "geo.sh: install $pkg (apt-get install -y $pkg)" >&2; exit 2; }
done
swift build -c release --product GeoBench >/dev/null
swift build -c release --product customs >/dev/null
BIN=$(swift build -c release --show-bin-path)
gcc -O2 -march=native -o "$WORK/bsearch" Benchmarks/geo/bsearch.c
gcc -O2 -march=native -o "$WORK/mmdb" Benchmarks/geo/mmdb.c -lmaxminddb

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), pinned to cpu $CPU"
"$BIN/GeoBench" prepare Policies/country-table.bin "$WORK" "$COUNT"
# The machine is shared: the drivers take turns for PASSES passes, and the summary keeps each
# one's best pass, so all three are compared at their least disturbed.
PASSES=${GEO_BENCH_PASSES:-3}
: > "$WORK/runs.txt"
for pass in $(seq "$PASSES"); do
    echo "--- pass $pass"
    taskset -c "$CPU" "$BIN/GeoBench" run Policies/country-table.bin "$WORK" "$ROUNDS" | tee -a "$WORK/runs.txt"
    taskset -c "$CPU" "$BIN/GeoBench" run Policies/country-table.csv.gz "$WORK" 1 | head -1 | tee -a "$WORK/runs.txt"
    taskset -c "$CPU" "$WORK/bsearch" "$WORK" "$ROUNDS" | tee -a "$WORK/runs.txt"
    taskset -c "$CPU" "$WORK/mmdb" "$WORK" "$ROUNDS" | tee -a "$WORK/runs.txt"
done
echo "--- best of $PASSES passes"
python3 - "$WORK/runs.txt" <<'PY'
import re, sys
best = {}
loads = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\S+) (ipv[46]): ([\d.]+) M lookups/s', line)
    if m:
        key = (m.group(1), m.group(2))
        best[key] = max(best.get(key, 0.0), float(m.group(3)))
    m = re.match(r'swift load (\S+): median ([\d.]+) ms \(min ([\d.]+)\)', line)
    if m:
        loads.setdefault(m.group(1), []).append(float(m.group(3)))
for fam in ('ipv4', 'ipv6'):
    s, c, l = best.get(('swift', fam)), best.get(('c-bsearch', fam)), best.get(('libmaxminddb', fam))
    print(f"{fam}: swift {s:.2f} M/s, c-bsearch {c:.2f} M/s, libmaxminddb {l:.2f} M/s; "
          f"swift/c-bsearch {s / c:.1f}x, swift/libmaxminddb {s / l:.1f}x")
for name, v in loads.items():
    print(f"swift load {name}: best {min(v):.1f} ms over {len(v)} passes")
PY
echo "--- customs geo lookup on stdin ($COUNT IPv4 lines)"
python3 - "$WORK/v4.addr" > "$WORK/v4.txt" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
out = sys.stdout
for (v,) in struct.iter_unpack('<I', data):
    out.write('%d.%d.%d.%d\n' % (v >> 24, v >> 16 & 255, v >> 8 & 255, v & 255))
PY
START=$(date +%s%N)
taskset -c "$CPU" "$BIN/customs" geo lookup --table Policies/country-table.bin < "$WORK/v4.txt" > "$WORK/v4.out"
END=$(date +%s%N)
echo "customs geo lookup: $(wc -l < "$WORK/v4.out") lines in $(( (END - START) / 1000000 )) ms (includes process start and table load)"
