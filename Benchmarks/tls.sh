#!/usr/bin/env bash
# The TLS interception benchmark (issue 7): HTTPS through an intercepting proxy, keep-alive
# requests/s and new intercepted connections/s (both handshakes per connection), for Customs
# (`serve --ca DIR`), Squid 5 (ssl_bump, generate-host-certificates, security_file_certgen) and
# mitmproxy (mitmdump), in one run on loopback, with the same C/OpenSSL load client for all three.
#
#   Benchmarks/tls.sh                     # results in Benchmarks/results/tls.md
#   PROXIES="customs customs-spliced squid" MODES=pi Benchmarks/tls.sh   # inspected HTTPS uploads
#
# The upstream is nginx on localhost with a certificate from a test CA made here; every proxy
# verifies it against that CA (Customs through CUSTOMS_TLS_ARGS, Squid through
# tls_outgoing_options cafile=, mitmproxy through ssl_verify_upstream_trusted_ca). The client
# trusts the interception CAs. Proxies on core 0, client and upstream on core 1, runs interleaved.
#
# Environment (all optional):
#   PROXIES="customs squid mitmproxy"  RUNS=3  DURATION=10
#   MODES="keepalive new"  which loads to measure (keep-alive requests, new connections); also
#                     pi: keep-alive POSTs of issue 6's bodies (16 KiB JSON, 50 resident IDs, shapes
#                     made by gateway/pibodies.py; tlsclient --fresh-ids writes new IDs into every
#                     request, each run going on where that proxy's last one stopped), so an
#                     inspecting Customs counts new people in every request, as in gateway.sh's pi
#   PI_BODIES=2000    body shapes made for the pi load (names, tiers; the IDs come from the client)
#   CONNS=32          client connections (threads) for the keep-alive load
#   NEW_CONNS=16      client threads for the new-connection load
#   CUSTOMS_BIN       the customs binary (default .build/release/customs; built if missing)
#   CUSTOMS_TLS_ARGS  serve flags that turn interception on and trust the upstream test CA
#                     (default: --config gateway/tls-site.yaml, which makes the loopback upstream
#                     overseas so its tunnels are intercepted, --ca CUSTOMS_CA_DIR, and the upstream-trust flag that
#                     `customs serve --help` lists, e.g. --upstream-ca UPSTREAM_CA); the words
#                     CUSTOMS_CA_DIR and UPSTREAM_CA are replaced by $RUN/customs-ca and the test CA
#   customs-spliced   a proxy name for PROXIES: a second Customs started with CUSTOMS_SPLICED_ARGS
#                     (default: --ca, the upstream CA, --via 1.1-customs-plain and no site file, so
#                     the loopback upstream is domestic and its tunnels are spliced: no interception
#                     and no inspection; the client then trusts the upstream's own certificate).
#                     Customs intercepts only what it must inspect, so this is its no-inspection case.
#   PROFILE_MODE      the load the Customs profile runs under (default pi when MODES has pi, else keepalive)
#   MITM_VENV         where mitmproxy is pip-installed (default /tmp/bench-mitm)
#   OUT               the markdown report (default Benchmarks/results/tls.md); KEEP=1 keeps scratch
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"
# shellcheck source=gateway/tls-lib.sh
source "$ASSETS/tls-lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
NEW_CONNS=${NEW_CONNS:-16}
PROXIES=${PROXIES:-"customs squid mitmproxy"}
MODES=${MODES:-"keepalive new"}
MITM_VENV=${MITM_VENV:-/tmp/bench-mitm}
PI_BODIES=${PI_BODIES:-2000}
profile_default=keepalive
case " $MODES " in *" pi "*) profile_default=pi ;; esac
PROFILE_MODE=${PROFILE_MODE:-$profile_default}
OUT=${OUT:-$ROOT/Benchmarks/results/tls.md}
BENCH_COMMAND="RUNS=$RUNS DURATION=$DURATION CONNS=$CONNS NEW_CONNS=$NEW_CONNS PROXIES=\"$PROXIES\" MODES=\"$MODES\" PI_BODIES=$PI_BODIES \
CUSTOMS_TLS_ARGS=\"${CUSTOMS_TLS_ARGS:-}\" Benchmarks/tls.sh"

has_proxy() { case " $PROXIES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

bench_install squid-openssl nginx-light gcc libssl-dev openssl linux-perf python3 python3-venv
bench_setup_run_dir
tls_setup || exit 1
ulimit -n "$(ulimit -Hn)"

if has_proxy mitmproxy && [ ! -x "$MITM_VENV/bin/mitmdump" ]; then
  bench_log "installing mitmproxy into $MITM_VENV"
  python3 -m venv "$MITM_VENV" && "$MITM_VENV/bin/pip" install -q mitmproxy >"$RUN/pip.log" 2>&1
fi

declare -A PORT PI_NEXT
case " $MODES " in *" pi "*) bench_log "making $PI_BODIES request bodies"; tls_pi_bodies "$PI_BODIES" ;; esac
if has_proxy customs-spliced; then
  if bench_customs_binary && PORT[customs-spliced]=$(CUSTOMS_TLS_ARGS=${CUSTOMS_SPLICED_ARGS:-"--ca CUSTOMS_CA_DIR \
--upstream-ca UPSTREAM_CA --via 1.1-customs-plain"} tls_start_customs customs-spliced); then :
  else
    bench_note "the spliced Customs did not start: $(tail -3 "$RUN/customs-spliced.log" 2>/dev/null | tr '\n' ' ')"
    PROXIES=${PROXIES//customs-spliced/}
  fi
fi
if has_proxy customs; then
  if bench_customs_binary && PORT[customs]=$(tls_start_customs customs); then :
  else
    bench_note "Customs did not start with interception: $(tail -3 "$RUN/customs.log" 2>/dev/null | tr '\n' ' ')"
    PROXIES=${PROXIES//customs/}
  fi
fi

if has_proxy squid; then
  PORT[squid]=$(tls_start_squid)
fi

if has_proxy mitmproxy; then
  mkdir -p "$RUN/mitm"
  cat "$RUN/icpt-ca.key" "$RUN/icpt-ca.pem" >"$RUN/mitm/mitmproxy-ca.pem"
  cp "$RUN/icpt-ca.pem" "$RUN/mitm/mitmproxy-ca-cert.pem"
  MITM_PORT=$(bench_free_port)
  bench_spawn mitmproxy 0 "$MITM_VENV/bin/mitmdump" --listen-host 127.0.0.1 --listen-port "$MITM_PORT" \
    --set confdir="$RUN/mitm" --set ssl_verify_upstream_trusted_ca="$RUN/upstream-ca.pem" \
    --set flow_detail=0 --set termlog_verbosity=error
  bench_wait_port "$MITM_PORT" || { cat "$RUN/mitmproxy.log" >&2; exit 1; }
  PORT[mitmproxy]=$MITM_PORT
  echo "mitmproxy: $("$MITM_VENV/bin/mitmdump" --version 2>&1 | head -1) (mitmdump, flow_detail=0)" >>"$RUN/versions.txt"
fi

for mode in $MODES; do
  bench_log "HTTPS $mode"
  for proxy in $PROXIES; do tls_load "$proxy" "$mode" 2 >/dev/null || true; done # warm-up, leaf caches
  for r in $(seq 1 "$RUNS"); do
    for proxy in $PROXIES; do
      # Not in a subshell: tls_load advances PI_NEXT.
      if tls_load "$proxy" "$mode" "$DURATION" >"$RUN/last-result.txt"; then line=$(<"$RUN/last-result.txt")
      else line="RESULT failed"; fi
      section=https_$mode
      bench_record "$section" "$proxy" "$r" "$line"
    done
  done
done

if has_proxy customs; then
  bench_log "profile of customs under the $PROFILE_MODE HTTPS load"
  [ "$PROFILE_MODE" = pi ] && tls_pi_bodies "$PI_BODIES"
  pid=$(cat "$RUN/pid.customs")
  tls_load customs "$PROFILE_MODE" "$((DURATION + 2))" >"$RUN/profile-load.txt" &
  loadjob=$!
  sleep 1
  perf record -F 997 -g -p "$pid" -o "$RUN/perf.data" -- sleep "$DURATION" >"$RUN/perf-record.log" 2>&1 || true
  wait "$loadjob" || true
  bench_perf_summary "$RUN/perf.data" "load during the profile: $(cat "$RUN/profile-load.txt")" >"$RUN/profile-tls.txt"
fi

echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/machine.txt"
bench_log "writing $OUT"
python3 "$ASSETS/report.py" tls "$RUN/results.tsv" "$RUN" "$OUT"
if grep -q '^https_pi' "$RUN/results.tsv"; then
  # report.py knows the keep-alive and new-connection tables; the pi table is added here.
  python3 - "$RUN/results.tsv" >>"$OUT" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    section, proxy, _run, result = line.rstrip("\n").split("\t")
    if section != "https_pi": continue
    kv = dict(f.split("=", 1) for f in result.split()[1:] if "=" in f)
    runs.setdefault(proxy, []).append(kv)
print("\n### HTTPS POST 16 KiB, 50 resident IDs per body, keep-alive (MODES=pi)\n")
print("| proxy | requests/s (median) | runs | p50 ms | p99 ms | errors | non-2xx |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
for proxy, rs in runs.items():
    ok = [r for r in rs if "rps" in r]
    if not ok: print(f"| {proxy} | failed | | | | | |"); continue
    med = lambda k: statistics.median(float(r[k]) for r in ok)
    print(f"| {proxy} | {med('rps'):,.0f} | {' / '.join(format(float(r['rps']), ',.0f') for r in ok)} | "
          f"{med('p50_ms'):.2f} | {med('p99_ms'):.2f} | {sum(int(r['socket_errors']) for r in ok)} | {sum(int(r['non2xx']) for r in ok)} |")
PY
fi
bench_log "done: $OUT"
