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
# configuration (squid-log: the same with its access log on, as Debian ships it; Customs logs every
# request unless given --access-log off): its CPU time per request against Customs' is the per-core comparison of issue 2. Environment: ROUNDS=3 DURATION=6 CONNS=64
# LOADS="get post" (get, post, pi); OUT (markdown table, default: stdout only); KEEP=1 keeps scratch.
#
# The pi load is gateway.sh's issue-6 section (POST 16 KiB JSON, 50 resident IDs each). A binary
# given --config is taken to inspect: its bodies are made by pi.lua with people no earlier request
# carried (from a new point of the ID sequence every measurement); the others (and squid) get the
# same shape pre-made (pibodies.py), so the load generator does not limit them. Give the inspecting
# binaries the site file that makes the upstream overseas:
#   LOADS=pi Benchmarks/gateway-ab.sh "before=/tmp/customs-before --config Benchmarks/gateway/pi-site.yaml" \
#     "after=.build/release/customs --config Benchmarks/gateway/pi-site.yaml" plain=.build/release/customs squid
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"
# shellcheck source=gateway/ab-lib.sh
source "$ASSETS/ab-lib.sh"

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

declare -A PORT FLAGS
NAMES=()
for spec in "$@"; do
  if [ "$spec" = squid ]; then
    PORT[squid]=$(bench_start_squid)
    NAMES+=(squid)
    echo "squid: $(squid -v | head -1)" >>"$RUN/binaries.txt"
    continue
  fi
  if [ "$spec" = squid-log ]; then
    PORT[squid-log]=$(bench_start_squid_logging)
    NAMES+=(squid-log)
    echo "squid-log: $(squid -v | head -1), access_log daemon:" >>"$RUN/binaries.txt"
    continue
  fi
  name=${spec%%=*}
  read -r -a words <<<"${spec#*=}"
  CUSTOMS_BIN=${words[0]}
  [ -x "$CUSTOMS_BIN" ] || { echo "not executable: $CUSTOMS_BIN" >&2; exit 2; }
  PORT[$name]=$(bench_start_customs "$name" "${words[@]:1}")
  NAMES+=("$name")
  FLAGS[$name]=" ${words[*]:1} "
  echo "$name: $CUSTOMS_BIN ${words[*]:1}" >>"$RUN/binaries.txt"
done

ab_header "ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS LOADS=\"$LOADS\" Benchmarks/gateway-ab.sh $*"

for load in $LOADS; do
  case $load in
    get) lua=small.lua; path=/small; label="small GET" ;;
    post) lua=post.lua; path=/post; label="POST 16 KiB" ;;
    pi) lua=pi.lua; path=/collect; label="POST 16 KiB JSON, 50 IDs" ;;
    *) echo "unknown load $load" >&2; exit 2 ;;
  esac
  [ "$load" = pi ] && python3 "$ASSETS/pibodies.py" "$RUN/pi-bodies.jsonl" 20000
  for name in "${NAMES[@]}"; do bench_wrk "$name" "$lua" "$path" 2 >/dev/null || true; done # warm-up
  for r in $(seq 1 "$ROUNDS"); do
    for name in "${NAMES[@]}"; do
      # pi: each measurement starts 400,000 requests further into the ID sequence: new people.
      export BENCH_OFFSET=$((${BENCH_OFFSET:-0} + 400000)) BENCH_BODIES="$RUN/pi-bodies.jsonl"
      case ${FLAGS[$name]:-} in *" --config "*) BENCH_BODIES="" ;; esac
      ab_record "$load" "$label" "$r" "$(ab_measure "$name" bench_wrk "$name" "$lua" "$path" "$DURATION")"
    done
  done
done

ab_finish "${NAMES[@]}"
