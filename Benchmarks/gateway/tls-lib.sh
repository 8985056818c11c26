# TLS benchmark setup shared by Benchmarks/tls.sh and Benchmarks/tls-ab.sh (source after lib.sh,
# with RUN set up): the upstream test CA and its localhost leaf, the interception CA for Squid and
# mitmproxy, nginx as the TLS upstream, the C/OpenSSL load client, and starting intercepting proxies.

# tls_setup: certificates, nginx on $TLS_UP_PORT, $RUN/bin/tlsclient, $RUN/client-trust.pem.
tls_setup() {
  gcc -O2 -Wall -pthread -o "$RUN/bin/tlsclient" "$ASSETS/tlsclient.c" -lssl -lcrypto
  # All ECDSA P-256: the upstream's test CA and its localhost leaf, and the interception CA Squid
  # and mitmproxy mint with (Customs makes its own with `customs ca init`).
  tls_cert_ca upstream-ca "Customs benchmark upstream CA"
  tls_cert_ca icpt-ca "Customs benchmark interception CA (Squid, mitmproxy)"
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
  bench_wait_port "$TLS_UP_PORT" || { cat "$RUN/nginx-error.log" >&2; return 1; }
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //') (TLS upstream, ECDSA P-256 certificate for localhost)" >>"$RUN/versions.txt"
}

tls_cert_ca() { # NAME SUBJECT
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$RUN/$1.key" -out "$RUN/$1.pem" 2>/dev/null
}

# tls_start_customs NAME [extra serve flags]: Customs with interception on ($CUSTOMS_BIN), its own
# CA (trusted by the client), and CUSTOMS_TLS_ARGS (default: tls-site.yaml, which makes the
# loopback upstream overseas so its tunnels are intercepted, and trust in the upstream test CA).
# Prints the port.
tls_start_customs() {
  local name=$1; shift
  local ca_dir="$RUN/ca-$name" args f trust_flag
  if [ -z "${CUSTOMS_TLS_ARGS:-}" ]; then
    trust_flag=$("$CUSTOMS_BIN" serve --help 2>&1 | grep -oE -- '--upstream-[a-z-]*(ca|trust)[a-z-]*' | head -1 || true)
    args="--config $ASSETS/tls-site.yaml --ca CUSTOMS_CA_DIR${trust_flag:+ $trust_flag UPSTREAM_CA}"
    [ -n "$trust_flag" ] || bench_note "customs serve --help lists no upstream CA flag: Customs may refuse the test upstream"
  else
    args=$CUSTOMS_TLS_ARGS
  fi
  if ! "$CUSTOMS_BIN" ca init --out "$ca_dir" >"$RUN/ca-$name.log" 2>&1; then
    bench_note "customs ca init failed: $(tail -3 "$RUN/ca-$name.log" | tr '\n' ' ')"
    return 1
  fi
  # The client trusts every certificate file the CA folder holds (the CA certificate).
  for f in "$ca_dir"/*; do
    grep -q "BEGIN CERTIFICATE" "$f" 2>/dev/null && cat "$f" >>"$RUN/client-trust.pem"
  done
  args=${args//CUSTOMS_CA_DIR/$ca_dir}
  args=${args//UPSTREAM_CA/$RUN/upstream-ca.pem}
  # shellcheck disable=SC2086
  bench_start_customs "$name" --allow-destination ::1/128 $args "$@"
}

# tls_start_squid: Squid 5 with ssl_bump (peek at step 1, bump all) minting host certificates.
tls_start_squid() {
  /usr/lib/squid/security_file_certgen -c -s "$RUN/ssl_db" -M 16MB >/dev/null
  chown -R proxy:proxy "$RUN/ssl_db"
  bench_start_proxy squid SQUID_PORT squid-bump.conf.in squid.conf \
    "$(squid -v | head -1), ssl_bump peek step1 + bump all, generate-host-certificates=on, security_file_certgen" \
    squid -N -f "$RUN/squid.conf"
}

# tls_load PROXY keepalive|new|pi SECONDS: prints the load client's RESULT line (PORT[PROXY] set).
# pi: keep-alive POSTs of $RUN/pi-bodies.jsonl (tls_pi_bodies) with fresh resident IDs in every
# request, each proxy's run going on from where its last one stopped (PI_NEXT[PROXY], advanced
# only when tls_load runs outside a subshell), so an inspecting Customs counts new people each time.
# A proxy named *-spliced is expected to splice: the client then trusts the upstream's CA only.
tls_load() {
  local conns=$CONNS mode=$2 out trust=$RUN/client-trust.pem extra=()
  [ "$2" = new ] && conns=$NEW_CONNS
  case $1 in *-spliced) trust=$RUN/upstream-ca.pem ;; esac
  if [ "$2" = pi ]; then
    mode=keepalive
    extra=(--bodies "$RUN/pi-bodies.jsonl" --fresh-ids 1 --first "${PI_NEXT[$1]:-0}")
  fi
  out=$(timeout $(($3 + 60)) taskset -c 1 "$RUN/bin/tlsclient" --proxy "127.0.0.1:${PORT[$1]}" \
    --connect "localhost:$TLS_UP_PORT" --cafile "$trust" --path /small \
    --conns "$conns" --seconds "$3" --mode "$mode" "${extra[@]}" 2>&1) || true
  printf '== %s %s\n%s\n' "$1" "$2" "$out" >>"$RUN/tlsclient.log"
  if [ "$2" = pi ]; then
    local sent
    sent=$(grep -o '^RESULT.* requests=[0-9]*' <<<"$out" | grep -o '[0-9]*$' || echo 0)
    PI_NEXT[$1]=$(( ${PI_NEXT[$1]:-0} + sent ))
  fi
  grep '^RESULT' <<<"$out" | grep -v 'requests=0 ' || return 1
}

# tls_pi_bodies COUNT: issue 6's request bodies (16 KiB JSON, 50 resident IDs each; the client
# puts new IDs in as it sends them) in $RUN/pi-bodies.jsonl, made once for every proxy.
tls_pi_bodies() {
  [ -s "$RUN/pi-bodies.jsonl" ] || python3 "$ASSETS/pibodies.py" "$RUN/pi-bodies.jsonl" "$1"
}
