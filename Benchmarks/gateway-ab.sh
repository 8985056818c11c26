#!/usr/bin/env bash
# Interleaved A/B of Customs binaries under the gateway.sh HTTP loads (small GET, POST 16 KiB):
# every binary runs at once, pinned to core 0; nginx and wrk run on core 1; round r measures each
# binary in turn, so noise from a busy machine lands on all of them alike. Besides req/s and p99 it
# reports the proxy's CPU time and context switches per request (perf stat on the proxy process),
# which move far less with machine load than throughput does.
#
#   Benchmarks/gateway-ab.sh before=/tmp/customs-before after=.build/release/customs
#   ROUNDS=5 DURATION=6 LOADS="get post" Benchmarks/gateway-ab.sh a=BIN_A b=BIN_B "b-q3=BIN_B --queues 3"
#
# Each argument is NAME=BINARY [extra serve flags], or the word squid for Squid 5 with gateway.sh's
# configuration: its CPU time per request against Customs' is the per-core comparison of issue 2. Environment: ROUNDS=3 DURATION=6 CONNS=64
# LOADS="get post" (get, post, pi); OUT (markdown table, default: stdout only); KEEP=1 keeps scratch.
#
# The pi load is gateway.sh's issue-6 section (POST 16 KiB JSON, 50 resident IDs each, PI_BODIES
# distinct bodies walked from a new offset every run); give the inspecting binaries the site file
# that makes the upstream overseas:
#   LOADS=pi Benchmarks/gateway-ab.sh "before=/tmp/customs-before --config Benchmarks/gateway/pi-site.yaml" \
#     "after=.build/release/customs --config Benchmarks/gateway/pi-site.yaml" plain=.build/release/customs squid
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
CONNS=${CONNS:-64}
LOADS=${LOADS:-"get post"}
[ $# -ge 1 ] || { echo "usage: $0 NAME=BINARY [NAME=BINARY ...]" >&2; exit 2; }

bench_install wrk squid-openssl nginx-light gcc linux-perf python3
bench_setup_run_dir
bench_build_tools
UP_PORT=$(bench_free_port); BYTES_PORT=$(bench_free_port)
bench_start_upstreams
if [[ " $LOADS " == *" pi "* ]]; then
  python3 "$ASSETS/pibodies.py" "$RUN/pi-bodies.jsonl" "${PI_BODIES:-20000}"
  export BENCH_BODIES="$RUN/pi-bodies.jsonl" BENCH_OFFSET=0
fi

declare -A PORT
NAMES=()
for spec in "$@"; do
  if [ "$spec" = squid ]; then
    PORT[squid]=$(bench_start_squid)
    NAMES+=(squid)
    echo "squid: $(squid -v | head -1)" >>"$RUN/binaries.txt"
    continue
  fi
  name=${spec%%=*}
  read -r -a words <<<"${spec#*=}"
  CUSTOMS_BIN=${words[0]}
  [ -x "$CUSTOMS_BIN" ] || { echo "not executable: $CUSTOMS_BIN" >&2; exit 2; }
  PORT[$name]=$(bench_start_customs "$name" "${words[@]:1}")
  NAMES+=("$name")
  echo "$name: $CUSTOMS_BIN ${words[*]:1}" >>"$RUN/binaries.txt"
done

# measure NAME LUA PATH: one wrk run with perf stat attached to the proxy; prints a TSV row.
measure() {
  local name=$1 lua=$2 path=$3 pid line stat rps p99 cpu_ms cs sc
  pid=$(cat "$RUN/pid.$name")
  perf stat -e task-clock,context-switches,raw_syscalls:sys_enter -x, -o "$RUN/stat.$name" -p "$pid" -- sleep "$DURATION" 2>/dev/null &
  local statjob=$!
  line=$(bench_wrk "$name" "$lua" "$path" "$DURATION") || line="RESULT failed"
  wait "$statjob" || true
  rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  cpu_ms=$(awk -F, '$3 ~ /task-clock/ {print $1}' "$RUN/stat.$name")
  cs=$(awk -F, '$3 ~ /context-switches/ {print $1}' "$RUN/stat.$name")
  sc=$(awk -F, '$3 ~ /sys_enter/ {print $1}' "$RUN/stat.$name")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${rps:-0}" "${p99:-0}" "${cpu_ms:-0}" "${cs:-0}" "${sc:-0}"
}

{
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS LOADS=\"$LOADS\" Benchmarks/gateway-ab.sh $*"
  echo
  echo "| load | round | binary | req/s | p99 ms | proxy CPU µs/req | context switches/req | syscalls/req |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
} >"$RUN/table.md"

for load in $LOADS; do
  case $load in
    get) lua=small.lua; path=/small; label="small GET" ;;
    post) lua=post.lua; path=/post; label="POST 16 KiB" ;;
    pi) lua=pi.lua; path=/collect; label="POST 16 KiB, 50 resident IDs" ;;
    *) echo "unknown load $load" >&2; exit 2 ;;
  esac
  for name in "${NAMES[@]}"; do bench_wrk "$name" "$lua" "$path" 2 >/dev/null || true; done # warm-up
  for r in $(seq 1 "$ROUNDS"); do
    for name in "${NAMES[@]}"; do
      row=$(measure "$name" "$lua" "$path")
      BENCH_OFFSET=$(( ${BENCH_OFFSET:-0} + 1543 ))
      bench_log "$label round $r: $row"
      printf '%s\t%s\t%s\n' "$load" "$r" "$row" >>"$RUN/ab.tsv"
      awk -F'\t' -v label="$label" -v d="$DURATION" '{
        req = $4 * d
        printf "| %s | %s | %s | %.0f | %s | %.1f | %.2f | %.2f |\n", label, $2, $3, $4, $5,
          (req > 0 ? $6 * 1000 / req : 0), (req > 0 ? $7 / req : 0), (req > 0 ? $8 / req : 0) }' <<<"$load	$r	$row" >>"$RUN/table.md"
    done
  done
done

# Medians per load and binary, and each binary's ratio to the first one.
python3 - "$RUN/ab.tsv" "$DURATION" "${NAMES[@]}" >>"$RUN/table.md" <<'PY'
import statistics, sys
path, duration, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
rows = {}
for line in open(path):
    load, _, name, rps, p99, cpu, cs, sc = line.rstrip("\n").split("\t")
    rps, p99, cpu, cs, sc = float(rps), float(p99), float(cpu), float(cs), float(sc)
    req = rps * duration
    per = (lambda v: v / req) if req else (lambda v: 0)
    rows.setdefault((load, name), []).append((rps, p99, per(cpu * 1000), per(cs), per(sc)))
print()
print(f"Medians (ratios to {names[0]}):")
print()
print("| load | binary | req/s | p99 ms | CPU µs/req | switches/req | syscalls/req | req/s ratio | CPU/req ratio |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for load in dict.fromkeys(l for l, _ in rows):
    base = None
    for name in names:
        runs = rows.get((load, name))
        if not runs: continue
        med = [statistics.median(r[i] for r in runs) for i in range(5)]
        base = base or med
        print(f"| {load} | {name} | {med[0]:.0f} | {med[1]:.2f} | {med[2]:.1f} | {med[3]:.2f} | {med[4]:.2f} | "
              f"{med[0] / base[0]:.2f} | {med[2] / base[2] if base[2] else 0:.2f} |")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/table.md"

cat "$RUN/table.md"
if [ -n "${OUT:-}" ]; then cp "$RUN/table.md" "$OUT"; fi
