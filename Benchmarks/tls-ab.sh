#!/usr/bin/env bash
# Interleaved A/B of Customs binaries (and Squid) under the TLS interception loads of tls.sh:
# every proxy runs at once, pinned to core 0; nginx and the load client run on core 1; round r
# measures each in turn. Reports req/s, p99, and the proxy's CPU time, context switches and
# syscalls per request (perf stat on the proxy), which move far less with machine load than
# throughput does — Squid's CPU per request against Customs' is the per-core comparison of issue 7.
#
#   Benchmarks/tls-ab.sh before=/tmp/customs-before after=.build/release/customs squid
#   ROUNDS=5 DURATION=6 MODES="keepalive new" Benchmarks/tls-ab.sh a=BIN_A b=BIN_B
#   MODES=pi Benchmarks/tls-ab.sh before=BIN_A after=BIN_B   (inspected HTTPS uploads, as tls.sh's pi)
#
# Each argument is NAME=BINARY [extra serve flags], or the word squid (ssl_bump as in tls.sh).
# Environment: ROUNDS=3 DURATION=6 CONNS=32 NEW_CONNS=16 MODES=keepalive; CUSTOMS_TLS_ARGS as in
# tls.sh; OUT (markdown table, default: stdout only); KEEP=1 keeps scratch.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"
# shellcheck source=gateway/tls-lib.sh
source "$ASSETS/tls-lib.sh"
# shellcheck source=gateway/ab-lib.sh
source "$ASSETS/ab-lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
CONNS=${CONNS:-32}
NEW_CONNS=${NEW_CONNS:-16}
MODES=${MODES:-keepalive}
[ $# -ge 1 ] || { echo "usage: $0 NAME=BINARY [NAME=BINARY ...] [squid]" >&2; exit 2; }

bench_install squid-openssl nginx-light gcc libssl-dev openssl linux-perf python3
bench_setup_run_dir
tls_setup || exit 1
ulimit -n "$(ulimit -Hn)"

declare -A PORT PI_NEXT
NAMES=()
case " $MODES " in *" pi "*) tls_pi_bodies 2000 ;; esac
for spec in "$@"; do
  if [ "$spec" = squid ]; then
    PORT[squid]=$(tls_start_squid)
    NAMES+=(squid)
    continue
  fi
  name=${spec%%=*}
  read -r -a words <<<"${spec#*=}"
  CUSTOMS_BIN=${words[0]}
  [ -x "$CUSTOMS_BIN" ] || { echo "not executable: $CUSTOMS_BIN" >&2; exit 2; }
  PORT[$name]=$(tls_start_customs "$name" "${words[@]:1}") || { tail -5 "$RUN/$name.log" >&2; exit 1; }
  NAMES+=("$name")
done

ab_header "ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS NEW_CONNS=$NEW_CONNS MODES=\"$MODES\" Benchmarks/tls-ab.sh $*"

for mode in $MODES; do
  case $mode in
    keepalive) label="HTTPS keep-alive" ;;
    new) label="new intercepted connections" ;;
    pi) label="HTTPS POST 16 KiB, inspected" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  # pi: each measurement starts its own stretch of the ID sequence (the measurement runs in a
  # subshell, so tls_load's own advance of PI_NEXT does not come back), so every request carries
  # people no earlier one did.
  slot=1
  for name in "${NAMES[@]}"; do
    PI_NEXT[$name]=$((slot * 300000)); slot=$((slot + 1))
    tls_load "$name" "$mode" 2 >/dev/null || true # warm-up, leaf caches
  done
  for r in $(seq 1 "$ROUNDS"); do
    for name in "${NAMES[@]}"; do
      PI_NEXT[$name]=$((slot * 300000)); slot=$((slot + 1))
      ab_record "$mode" "$label" "$r" "$(ab_measure "$name" tls_load "$name" "$mode" "$DURATION")"
    done
  done
done

ab_finish "${NAMES[@]}"
