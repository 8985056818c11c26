#!/usr/bin/env bash
# The TLS interception benchmark (issue 7): HTTPS through an intercepting proxy, keep-alive
# requests/s and new intercepted connections/s (both handshakes per connection), for Customs
# (`serve --ca DIR`), Squid 5 (ssl_bump, generate-host-certificates, security_file_certgen) and
# mitmproxy (mitmdump), in one run on loopback, with the same C/OpenSSL load client for all three.
#
#   Benchmarks/tls.sh                     # results in Benchmarks/results/tls.md
#
# The upstream is nginx on localhost with a certificate from a test CA made here; every proxy
# verifies it against that CA (Customs through CUSTOMS_TLS_ARGS, Squid through
# tls_outgoing_options cafile=, mitmproxy through ssl_verify_upstream_trusted_ca). The client
# trusts the interception CAs. Proxies on core 0, client and upstream on core 1, runs interleaved.
#
# Environment (all optional):
#   PROXIES="customs squid mitmproxy"  RUNS=3  DURATION=10
#   MODES="keepalive new"  which loads to measure (keep-alive requests, new connections)
#   CONNS=32          client connections (threads) for the keep-alive load
#   NEW_CONNS=16      client threads for the new-connection load
#   CUSTOMS_BIN       the customs binary (default .build/release/customs; built if missing)
#   CUSTOMS_TLS_ARGS  serve flags that turn interception on and trust the upstream test CA
#                     (default: --config gateway/tls-site.yaml, which makes the loopback upstream
#                     overseas so its tunnels are intercepted, --ca CUSTOMS_CA_DIR, and the upstream-trust flag that
#                     `customs serve --help` lists, e.g. --upstream-ca UPSTREAM_CA); the words
#                     CUSTOMS_CA_DIR and UPSTREAM_CA are replaced by $RUN/customs-ca and the test CA
#   MITM_VENV         where mitmproxy is pip-installed (default /tmp/bench-mitm)
#   OUT               the markdown report (default Benchmarks/results/tls.md); KEEP=1 keeps scratch
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ASSETS="$HERE/gateway"
# shellcheck source=gateway/lib.sh
source "$ASSETS/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
NEW_CONNS=${NEW_CONNS:-16}
PROXIES=${PROXIES:-"customs squid mitmproxy"}
MODES=${MODES:-"keepalive new"}
MITM_VENV=${MITM_VENV:-/tmp/bench-mitm}
OUT=${OUT:-$ROOT/Benchmarks/results/tls.md}
BENCH_COMMAND="RUNS=$RUNS DURATION=$DURATION CONNS=$CONNS NEW_CONNS=$NEW_CONNS PROXIES=\"$PROXIES\" MODES=\"$MODES\" \
CUSTOMS_TLS_ARGS=\"${CUSTOMS_TLS_ARGS:-}\" Benchmarks/tls.sh"

has_proxy() { case " $PROXIES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

bench_install squid-openssl nginx-light gcc libssl-dev openssl linux-perf python3 python3-venv
bench_setup_run_dir
gcc -O2 -Wall -pthread -o "$RUN/bin/tlsclient" "$ASSETS/tlsclient.c" -lssl -lcrypto
ulimit -n "$(ulimit -Hn)"

if has_proxy mitmproxy && [ ! -x "$MITM_VENV/bin/mitmdump" ]; then
  bench_log "installing mitmproxy into $MITM_VENV"
  python3 -m venv "$MITM_VENV" && "$MITM_VENV/bin/pip" install -q mitmproxy >"$RUN/pip.log" 2>&1
fi

# Certificates, all ECDSA P-256: the upstream's test CA and its localhost leaf, and the
# interception CA Squid and mitmproxy mint with (Customs makes its own with `customs ca init`).
cert_ca() { # NAME SUBJECT
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$RUN/$1.key" -out "$RUN/$1.pem" 2>/dev/null
}
cert_ca upstream-ca "Customs benchmark upstream CA"
cert_ca icpt-ca "Customs benchmark interception CA (Squid, mitmproxy)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$RUN/upstream.key" -out "$RUN/upstream.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >"$RUN/upstream.ext"
openssl x509 -req -in "$RUN/upstream.csr" -CA "$RUN/upstream-ca.pem" -CAkey "$RUN/upstream-ca.key" \
  -CAcreateserial -days 30 -extfile "$RUN/upstream.ext" -out "$RUN/upstream.pem" 2>/dev/null
chmod 0644 "$RUN"/*.pem "$RUN"/*.key # Squid's certificate generator runs as the proxy user
cp "$RUN/icpt-ca.pem" "$RUN/client-trust.pem"

TLS_UP_PORT=$(bench_free_port)
mkdir -p "$RUN"/nginx-{body,proxy,fastcgi,uwsgi,scgi} && chmod 0777 "$RUN"/nginx-*
bench_render "$ASSETS/nginx-tls.conf.in" "$RUN/nginx.conf"
bench_spawn nginx 1 nginx -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/nginx-error.log"
bench_wait_port "$TLS_UP_PORT" || { cat "$RUN/nginx-error.log" >&2; exit 1; }
echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //') (TLS upstream, ECDSA P-256 certificate for localhost)" >>"$RUN/versions.txt"

declare -A PORT
if has_proxy customs; then
  if bench_customs_binary; then
    if [ -z "${CUSTOMS_TLS_ARGS:-}" ]; then
      trust_flag=$("$CUSTOMS_BIN" serve --help 2>&1 | grep -oE -- '--upstream-[a-z-]*(ca|trust)[a-z-]*' | head -1 || true)
      CUSTOMS_TLS_ARGS="--config $ASSETS/tls-site.yaml --ca CUSTOMS_CA_DIR${trust_flag:+ $trust_flag UPSTREAM_CA}"
      [ -n "$trust_flag" ] || bench_note "customs serve --help lists no upstream CA flag: Customs may refuse the test upstream"
    fi
    CA_DIR="$RUN/customs-ca"
    if "$CUSTOMS_BIN" ca init --out "$CA_DIR" >"$RUN/customs-ca.log" 2>&1; then
      # The client trusts every certificate file the CA folder holds (the CA certificate).
      for f in "$CA_DIR"/*; do
        grep -q "BEGIN CERTIFICATE" "$f" 2>/dev/null && cat "$f" >>"$RUN/client-trust.pem"
      done
      args=${CUSTOMS_TLS_ARGS//CUSTOMS_CA_DIR/$CA_DIR}
      args=${args//UPSTREAM_CA/$RUN/upstream-ca.pem}
      # shellcheck disable=SC2086
      PORT[customs]=$(bench_start_customs customs --allow-destination ::1/128 $args) ||
        { bench_note "Customs did not start with interception: $(tail -3 "$RUN/customs.log" | tr '\n' ' ')"; PROXIES=${PROXIES//customs/}; }
    else
      bench_note "customs ca init failed: $(tail -3 "$RUN/customs-ca.log" | tr '\n' ' ')"
      PROXIES=${PROXIES//customs/}
    fi
  else
    PROXIES=${PROXIES//customs/}
  fi
fi

if has_proxy squid; then
  /usr/lib/squid/security_file_certgen -c -s "$RUN/ssl_db" -M 16MB >/dev/null
  chown -R proxy:proxy "$RUN/ssl_db"
  PORT[squid]=$(bench_start_proxy squid SQUID_PORT squid-bump.conf.in squid.conf \
    "$(squid -v | head -1), ssl_bump peek step1 + bump all, generate-host-certificates=on, security_file_certgen" \
    squid -N -f "$RUN/squid.conf")
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

tls_load() { # PROXY keepalive|new SECONDS
  local conns=$CONNS out
  [ "$2" = new ] && conns=$NEW_CONNS
  out=$(timeout $(($3 + 60)) taskset -c 1 "$RUN/bin/tlsclient" --proxy "127.0.0.1:${PORT[$1]}" \
    --connect "localhost:$TLS_UP_PORT" --cafile "$RUN/client-trust.pem" --path /small \
    --conns "$conns" --seconds "$3" --mode "$2" 2>&1) || true
  printf '== %s %s\n%s\n' "$1" "$2" "$out" >>"$RUN/tlsclient.log"
  grep '^RESULT' <<<"$out" | grep -v 'requests=0 ' || return 1
}

for mode in $MODES; do
  bench_log "HTTPS $mode"
  for proxy in $PROXIES; do tls_load "$proxy" "$mode" 2 >/dev/null || true; done # warm-up, leaf caches
  for r in $(seq 1 "$RUNS"); do
    for proxy in $PROXIES; do
      line=$(tls_load "$proxy" "$mode" "$DURATION") || line="RESULT failed"
      section=https_keepalive; [ "$mode" = new ] && section=https_new
      bench_record "$section" "$proxy" "$r" "$line"
    done
  done
done

if has_proxy customs; then
  bench_log "profile of customs under the keep-alive HTTPS load"
  pid=$(cat "$RUN/pid.customs")
  tls_load customs keepalive "$((DURATION + 2))" >"$RUN/profile-load.txt" &
  loadjob=$!
  sleep 1
  perf record -F 997 -g -p "$pid" -o "$RUN/perf.data" -- sleep "$DURATION" >"$RUN/perf-record.log" 2>&1 || true
  wait "$loadjob" || true
  bench_perf_summary "$RUN/perf.data" "load during the profile: $(cat "$RUN/profile-load.txt")" >"$RUN/profile-tls.txt"
fi

echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/machine.txt"
bench_log "writing $OUT"
python3 "$ASSETS/report.py" tls "$RUN/results.tsv" "$RUN" "$OUT"
bench_log "done: $OUT"
