#!/usr/bin/env bash
# Runtime calls per proxied request (retains, releases, allocations), counted with uprobes while
# wrk drives the small-GET load (or LOAD=post, or LOAD=pi: issue 6's bodies with new people in
# every request). Counts, unlike times, do not move with machine load, and this VM has no hardware
# counters: it is how the session-6 work on the GET path was steered (see RESULTS.md, issue 2).
#
#   Benchmarks/gateway-calls.sh [BINARY] [extra serve flags...]      (default .build/release/customs)
#   LOAD=pi Benchmarks/gateway-calls.sh .build/release/customs --config Benchmarks/gateway/pi-site.yaml
#
# Environment: SECS=3 CONNS=64 LOAD=get|post|pi. Needs root (perf probe) and linux-perf. The uprobes
# slow the proxy down several times over; only the per-request ratios mean anything.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"
SECS=${SECS:-3}
CONNS=${CONNS:-64}
LOAD=${LOAD:-get}
CUSTOMS_BIN=${1:-$ROOT/.build/release/customs}
[ $# -ge 1 ] && shift
case $LOAD in
  get) lua=small.lua; path=/small ;;
  post) lua=post.lua; path=/post ;;
  # A fresh point of pi.lua's ID sequence per run, so no run repeats another's people.
  pi) lua=pi.lua; path=/collect; export BENCH_OFFSET=$((RANDOM * 1000 + 5000000)) BENCH_BODIES="" ;;
  *) echo "LOAD is get, post or pi" >&2; exit 2 ;;
esac

bench_install wrk nginx-light gcc linux-perf
bench_setup_run_dir
bench_build_tools
UP_PORT=$(bench_free_port); BYTES_PORT=$(bench_free_port)
bench_start_upstreams
declare -A PORT
PORT[customs]=$(bench_start_customs customs "$@")
pid=$(cat "$RUN/pid.customs")
admin=$(cat "$RUN/admin.customs")

core=$(ldd "$CUSTOMS_BIN" | awk '/libswiftCore/ {print $3}')
libc=$(ldd "$CUSTOMS_BIN" | awk '/libc.so/ {print $3}')
events=()
for f in swift_retain swift_release swift_bridgeObjectRetain swift_allocObject; do
  perf probe -q -x "$core" "$f" 2>/dev/null || true
  events+=("probe_libswiftCore:$f")
done
perf probe -q -x "$libc" malloc 2>/dev/null || true
events+=(probe_libc:malloc)

requests() { curl -s "http://127.0.0.1:$admin/metrics" | awk '/^customs_http_requests_total/ {s += $2} END {printf "%d", s}'; }
bench_wrk customs "$lua" "$path" 2 >/dev/null || true
before=$(requests)
perf stat -x, -e "$(IFS=,; echo "${events[*]}")" -p "$pid" -o "$RUN/stat.txt" &
stat=$!
sleep 0.5
bench_wrk customs "$lua" "$path" "$SECS" >/dev/null || true
sleep 0.5
kill -INT "$stat"; wait "$stat" || true
n=$(( $(requests) - before ))
echo "customs: $CUSTOMS_BIN $*"
echo "load: $LOAD, $n requests counted"
grep -v '^#' "$RUN/stat.txt" | grep . | awk -F, -v n="$n" '{printf "%-45s %12s  %7.1f per request\n", $3, $1, $1 / n}'
