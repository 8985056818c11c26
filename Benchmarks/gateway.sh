#!/usr/bin/env bash
# The gateway benchmark (issue 2, and the issue-6 inspection load): Customs side by side with
# Squid 5, tinyproxy, HAProxy (mode tcp, tunnels only) and no proxy at all, in one run, on loopback.
#
#   Benchmarks/gateway.sh                 # everything, results in Benchmarks/results/gateway.md
#   SECTIONS="get post" Benchmarks/gateway.sh
#   SECTIONS=pi CUSTOMS_ARGS="--config site.yaml" CUSTOMS_PLAIN_ARGS="--config plain.yaml" \
#       Benchmarks/gateway.sh             # issue 6: Customs inspecting vs not inspecting vs Squid
#
# Every proxy runs pinned to core 0 (taskset -c 0); wrk, the C load clients and the upstreams
# (nginx, bytesrv) run on core 1. Runs are interleaved across proxies (run 1 of each, then run 2 of
# each, ...) so that noise from a busy machine lands on all of them alike; tables show medians.
#
# Environment (all optional):
#   SECTIONS      which measurements: get post tunnel rate memory profile pi (default: all but pi,
#                 plus pi when CUSTOMS_ARGS or PI=1 is set)
#   PROXIES       which proxies for HTTP loads (default: "baseline customs squid tinyproxy"); also
#                 "customs-nolog" (Customs with --access-log off) and "squid-log" (Squid writing its
#                 access log as Debian ships it): with `customs` and `squid`, like-for-like pairs
#   RUNS=3 DURATION=10 CONNS=64      runs per measurement, seconds per wrk run, wrk connections
#   TUNNEL_BYTES=4294967296          bytes streamed per tunnel-throughput run (split over the tunnels)
#   RATE_SECONDS=5 RATE_THREADS=8    new-tunnels-per-second run length and client threads
#   IDLE=10000                       idle keep-alive connections for the memory measurement
#   CUSTOMS_BIN   the customs binary (default .build/release/customs; built if missing)
#   CUSTOMS_ARGS  extra `customs serve` flags for the Customs under test (issue 6: inspection on)
#   CUSTOMS_PLAIN_ARGS  flags for the second Customs in the pi section (inspection off); pi
#                 measures "customs-plain" only when this is set
#   OUT           the markdown report (default Benchmarks/results/gateway.md)
#   KEEP=1        keep the scratch folder (logs, perf data) after the run
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
TUNNEL_BYTES=${TUNNEL_BYTES:-4294967296}
RATE_SECONDS=${RATE_SECONDS:-5}
RATE_THREADS=${RATE_THREADS:-8}
IDLE=${IDLE:-10000}
PROXIES=${PROXIES:-"baseline customs squid tinyproxy"}
OUT=${OUT:-$ROOT/Benchmarks/results/gateway.md}
if [ -z "${SECTIONS:-}" ]; then
  SECTIONS="get post tunnel rate memory profile"
  if [ -n "${CUSTOMS_ARGS:-}" ] || [ "${PI:-0}" = 1 ]; then SECTIONS="$SECTIONS pi"; fi
fi

BENCH_COMMAND="RUNS=$RUNS DURATION=$DURATION CONNS=$CONNS TUNNEL_BYTES=$TUNNEL_BYTES RATE_SECONDS=$RATE_SECONDS \
RATE_THREADS=$RATE_THREADS IDLE=$IDLE SECTIONS=\"$SECTIONS\" PROXIES=\"$PROXIES\" \
CUSTOMS_ARGS=\"${CUSTOMS_ARGS:-}\" CUSTOMS_PLAIN_ARGS=\"${CUSTOMS_PLAIN_ARGS:-}\" Benchmarks/gateway.sh"

bench_install wrk squid-openssl tinyproxy haproxy nginx-light gcc linux-perf python3
bench_setup_run_dir
bench_build_tools
ulimit -n "$(ulimit -Hn)" # the idle-connection test needs more than 10,000 descriptors per side

UP_PORT=$(bench_free_port); BYTES_PORT=$(bench_free_port)
bench_start_upstreams

declare -A PORT
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
has_proxy() { case " $PROXIES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if has_proxy customs; then
  if bench_customs_binary; then
    PORT[customs]=$(bench_start_customs customs ${CUSTOMS_ARGS:-}) || { bench_note "Customs did not start: $(tail -3 "$RUN/customs.log" | tr '\n' ' ')"; PROXIES=${PROXIES//customs/}; }
  else
    PROXIES=${PROXIES//customs/}
  fi
fi
if has_proxy customs-nolog && bench_customs_binary; then
  PORT[customs-nolog]=$(bench_start_customs customs-nolog --access-log off ${CUSTOMS_ARGS:-})
fi
if has_proxy squid; then PORT[squid]=$(bench_start_squid); fi
if has_proxy squid-log; then PORT[squid-log]=$(bench_start_squid_logging); fi
if has_proxy tinyproxy; then
  PORT[tinyproxy]=$(bench_start_tinyproxy)
  bench_note "tinyproxy 1.11 closes the client connection after every response (no client keep-alive), so wrk reconnects for each request and counts each close as a socket error."
fi
PORT[haproxy]=$(bench_start_haproxy)

# HTTP loads: $1 section name, $2 wrk lua file, $3 upstream path
http_section() {
  local section=$1 lua=$2 path=$3 proxy r
  for proxy in $PROXIES; do bench_wrk "$proxy" "$lua" "$path" 2 >/dev/null || true; done # warm-up
  for r in $(seq 1 "$RUNS"); do
    for proxy in $PROXIES; do
      local line
      line=$(bench_wrk "$proxy" "$lua" "$path" "$DURATION") || line="RESULT failed"
      bench_record "$section" "$proxy" "$r" "$line"
    done
  done
}

if want get; then bench_log "small GET"; http_section get small.lua /small; fi
if want post; then bench_log "POST 16 KiB"; http_section post post.lua /post; fi

TUNNEL_PROXIES="baseline haproxy"
for p in customs squid tinyproxy; do has_proxy "$p" && TUNNEL_PROXIES="$TUNNEL_PROXIES $p"; done

if want tunnel; then
  bench_log "tunnel throughput"
  for dir in down up; do
    for n in 1 8; do
      for r in $(seq 1 "$RUNS"); do
        for proxy in $TUNNEL_PROXIES; do
          line=$(bench_tunnel "$proxy" "$dir" "$n") || line="RESULT failed"
          bench_record "tunnel_${dir}_$n" "$proxy" "$r" "$line"
        done
      done
    done
  done
fi

if want memory; then
  bench_log "idle keep-alive connections"
  for proxy in customs squid; do
    has_proxy "$proxy" || continue
    line=$(bench_idle_memory "$proxy") || line="RESULT failed"
    bench_record memory "$proxy" 1 "$line"
  done
fi

if want rate; then
  bench_log "new tunnels per second"
  for r in $(seq 1 "$RUNS"); do
    for proxy in $TUNNEL_PROXIES; do
      line=$(bench_rate "$proxy") || line="RESULT failed"
      bench_record rate "$proxy" "$r" "$line"
      sleep 1 # let TIME_WAIT sockets of the last run age a little before the next proxy
    done
  done
fi

if want profile && has_proxy customs; then
  bench_log "profile of customs under the small-GET load"
  bench_profile customs small.lua /small "$RUN/profile-get.txt" || bench_note "profiling failed"
fi

if want pi; then
  bench_log "issue 6: POST 16 KiB with 50 resident IDs"
  printf '%s\n' "${CUSTOMS_ARGS:-}" >"$RUN/customs-args.txt"
  PI_PROXIES=""
  has_proxy customs && PI_PROXIES="customs"
  if [ -n "${CUSTOMS_PLAIN_ARGS:-}" ] && [ -n "${CUSTOMS_BIN_OK:-}" ]; then
    # shellcheck disable=SC2086
    PORT[customs-plain]=$(bench_start_customs customs-plain $CUSTOMS_PLAIN_ARGS) && PI_PROXIES="$PI_PROXIES customs-plain"
  fi
  has_proxy squid && PI_PROXIES="$PI_PROXIES squid"
  PI_PROXIES="$PI_PROXIES baseline"
  # The inspecting Customs gets bodies pi.lua makes with new people every request (each measurement
  # from its own stretch of the ID sequence); the others, which count nobody, get the same shape
  # pre-made, so the load generator is not what limits them.
  python3 "$ASSETS/pibodies.py" "$RUN/pi-bodies.jsonl" 20000
  offset=0
  for r in $(seq 1 "$RUNS"); do
    for proxy in $PI_PROXIES; do
      bodies="$RUN/pi-bodies.jsonl"; [ "$proxy" = customs ] && bodies=""
      line=$(BENCH_BODIES=$bodies BENCH_OFFSET=$offset bench_wrk "$proxy" pi.lua /collect "$DURATION") || line="RESULT failed"
      bench_record pi "$proxy" "$r" "$line"
      offset=$((offset + 400000))
    done
  done
fi

echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/machine.txt"
bench_log "writing $OUT"
python3 "$ASSETS/report.py" gateway "$RUN/results.tsv" "$RUN" "$OUT"
bench_log "done: $OUT"
