# Shared pieces of Benchmarks/gateway.sh and Benchmarks/tls.sh (sourced, not run).
# Every process started here is recorded in $RUN/pid.NAME and stopped by the EXIT trap, by pid.
# Every address used is on 127.0.0.1.

bench_log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
bench_note() { bench_log "note: $*"; printf '%s\n' "$*" >>"$RUN/notes.txt"; }

# Installs the Debian packages that are missing (one apt-get call).
bench_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  bench_log "installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  # policy-rc.d or not, packaged services must not be left running: the script starts its own.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

bench_cleanup() {
  local f pid
  for f in "$RUN"/pid.*; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 1
  for f in "$RUN"/pid.*; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  if [ "${KEEP:-0}" = 1 ]; then bench_log "scratch kept in $RUN"; else rm -rf "$RUN"; fi
}

bench_setup_run_dir() {
  RUN=$(mktemp -d /tmp/customs-bench.XXXXXX)
  # Squid and nginx drop privileges to proxy/nobody and write pid and log files here.
  chmod 0777 "$RUN"
  mkdir -p "$RUN/bin"
  : >"$RUN/results.tsv"
  : >"$RUN/notes.txt"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  {
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -r)"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$RUN/machine.txt"
  printf "%s\n" "${BENCH_COMMAND:-$0}" >"$RUN/command.txt"
}

bench_build_tools() {
  local t
  for t in bytesrv tunclient idleconns; do
    gcc -O2 -Wall -pthread -o "$RUN/bin/$t" "$ASSETS/$t.c"
  done
}

# A free port below the ephemeral range: the tunnel-rate load leaves tens of thousands of client
# ports in TIME_WAIT, and a listener cannot bind a port that a TIME_WAIT client socket holds.
bench_free_port() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port in 20000-32000")
PY
}

bench_wait_port() {
  local port=$1 i
  for i in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# bench_spawn NAME CORE CMD...: starts CMD pinned to CORE, output in $RUN/NAME.log.
bench_spawn() {
  local name=$1 core=$2; shift 2
  taskset -c "$core" "$@" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/pid.$name"
}

bench_render() { # bench_render TEMPLATE OUT: replaces @NAME@ with $NAME
  local in=$1 out=$2
  sed -e "s|@RUN@|$RUN|g" -e "s|@UP_PORT@|${UP_PORT:-}|g" -e "s|@BYTES_PORT@|${BYTES_PORT:-}|g" \
      -e "s|@SQUID_PORT@|${SQUID_PORT:-}|g" -e "s|@TINY_PORT@|${TINY_PORT:-}|g" \
      -e "s|@HAPROXY_PORT@|${HAPROXY_PORT:-}|g" -e "s|@TLS_UP_PORT@|${TLS_UP_PORT:-}|g" \
      -e "s|@CA_DIR@|${CA_DIR:-}|g" "$in" >"$out"
}

bench_start_upstreams() {
  mkdir -p "$RUN"/nginx-{body,proxy,fastcgi,uwsgi,scgi} && chmod 0777 "$RUN"/nginx-*
  bench_render "$ASSETS/nginx.conf.in" "$RUN/nginx.conf"
  bench_spawn nginx 1 nginx -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/nginx-error.log"
  bench_spawn bytesrv 1 "$RUN/bin/bytesrv" "$BYTES_PORT"
  bench_wait_port "$UP_PORT" || { cat "$RUN/nginx.log" "$RUN/nginx-error.log" >&2; return 1; }
  bench_wait_port "$BYTES_PORT"
  {
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')"
    echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  } >>"$RUN/versions.txt"
}

# bench_start_proxy NAME PORTVAR TEMPLATE CONF VERSION CMD...: renders TEMPLATE to $RUN/CONF with a
# fresh port in PORTVAR, starts CMD on core 0, waits for the port, prints it.
bench_start_proxy() {
  local name=$1 portvar=$2 template=$3 conf=$4 version=$5; shift 5
  printf -v "$portvar" '%s' "$(bench_free_port)"
  bench_render "$ASSETS/$template" "$RUN/$conf"
  bench_spawn "$name" 0 "$@"
  bench_wait_port "${!portvar}" || { cat "$RUN/$name.log" >&2; return 1; }
  echo "$name: $version" >>"$RUN/versions.txt"
  echo "${!portvar}"
}

bench_start_squid() {
  bench_start_proxy squid SQUID_PORT squid.conf.in squid.conf "$(squid -v | head -1)" squid -N -f "$RUN/squid.conf"
}

# Squid with its access log on, written the way Debian ships it (`daemon:`, a helper process), for
# a like-for-like comparison: Customs writes an access log line for every request, and the plain
# `squid` above writes none.
bench_start_squid_logging() {
  local port
  port=$(bench_free_port)
  SQUID_PORT=$port bench_render "$ASSETS/squid.conf.in" "$RUN/squid-log.conf"
  sed -i -e "s|^access_log none|access_log daemon:$RUN/squid-access.log squid|" \
    -e "s|^pid_filename .*|pid_filename $RUN/squid-log.pid|" -e "s|^cache_log .*|cache_log $RUN/squid-log-cache.log|" \
    "$RUN/squid-log.conf"
  bench_spawn squid-log 0 squid -N -f "$RUN/squid-log.conf"
  bench_wait_port "$port" || { cat "$RUN/squid-log.log" >&2; return 1; }
  echo "squid-log: $(squid -v | head -1), access_log daemon:" >>"$RUN/versions.txt"
  echo "$port"
}

bench_start_tinyproxy() {
  bench_start_proxy tinyproxy TINY_PORT tinyproxy.conf.in tinyproxy.conf "$(tinyproxy -v)" tinyproxy -d -c "$RUN/tinyproxy.conf"
}

bench_start_haproxy() {
  bench_start_proxy haproxy HAPROXY_PORT haproxy.cfg.in haproxy.cfg "$(haproxy -v | head -1)" haproxy -db -f "$RUN/haproxy.cfg"
}

# Finds or builds the customs binary; sets CUSTOMS_BIN_OK when usable.
bench_customs_binary() {
  CUSTOMS_BIN=${CUSTOMS_BIN:-$ROOT/.build/release/customs}
  if [ ! -x "$CUSTOMS_BIN" ]; then
    bench_log "building customs (release)"
    if ! (cd "$ROOT" && swift build -c release --product customs) >"$RUN/customs-build.log" 2>&1; then
      bench_note "Customs release build failed: $(tail -3 "$RUN/customs-build.log" | tr '\n' ' ')"
      return 1
    fi
  fi
  CUSTOMS_BIN_OK=1
  echo "customs: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null) ($CUSTOMS_BIN)" >>"$RUN/versions.txt"
}

# bench_start_customs NAME [extra serve flags...]: prints the port.
bench_start_customs() {
  local name=$1; shift
  local port admin
  port=$(bench_free_port); admin=$(bench_free_port)
  mkdir -p "$RUN/state-$name"
  echo "$name: customs serve --listen 127.0.0.1:$port --admin 127.0.0.1:$admin --allow-destination 127.0.0.0/8 --state $RUN/state-$name $*" >>"$RUN/versions.txt"
  bench_spawn "$name" 0 "$CUSTOMS_BIN" serve --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" \
    --allow-destination 127.0.0.0/8 --state "$RUN/state-$name" "$@"
  echo "$admin" >"$RUN/admin.$name"
  if ! bench_wait_port "$port"; then
    rm -f "$RUN/pid.$name"
    return 1
  fi
  echo "$port"
}

bench_record() { # SECTION PROXY RUN "RESULT k=v ..."
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RUN/results.tsv"
  bench_log "$1 $2 run $3: ${4#RESULT }"
}

# bench_wrk PROXY LUA PATH SECONDS: prints wrk's RESULT line.
bench_wrk() {
  local proxy=$1 lua=$2 path=$3 secs=$4 url host port
  host="127.0.0.1:$UP_PORT"
  if [ "$proxy" = baseline ]; then url=$path; port=$UP_PORT
  else url="http://$host$path"; port=${PORT[$proxy]}; fi
  local out
  out=$(BENCH_DIR="$ASSETS" BENCH_URL="$url" BENCH_HOST="$host" \
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 5s -s "$ASSETS/$lua" "http://127.0.0.1:$port" 2>&1) || true
  printf '== %s %s %ss\n%s\n' "$proxy" "$lua" "$secs" "$out" >>"$RUN/wrk.log"
  grep '^RESULT' <<<"$out" || return 1
}

bench_tunnel_args() { # PROXY: the tunclient address flags for that proxy
  case $1 in
    baseline) echo "--proxy 127.0.0.1:$BYTES_PORT" ;;
    haproxy) echo "--proxy 127.0.0.1:${PORT[haproxy]}" ;;
    *) echo "--proxy 127.0.0.1:${PORT[$1]} --connect 127.0.0.1:$BYTES_PORT" ;;
  esac
}

bench_tunnel() { # PROXY up|down TUNNELS
  local out
  # shellcheck disable=SC2046
  out=$(timeout 120 taskset -c 1 "$RUN/bin/tunclient" "$2" $(bench_tunnel_args "$1") --tunnels "$3" --bytes "$TUNNEL_BYTES" 2>&1) || true
  printf '== %s %s %s\n%s\n' "$1" "$2" "$3" "$out" >>"$RUN/tunnel.log"
  grep '^RESULT' <<<"$out" | grep -v 'gbps=0$' || return 1
}

bench_rate() { # PROXY
  local out
  # shellcheck disable=SC2046
  out=$(timeout 60 taskset -c 1 "$RUN/bin/tunclient" rate $(bench_tunnel_args "$1") --tunnels "$RATE_THREADS" --seconds "$RATE_SECONDS" 2>&1) || true
  printf '== %s rate\n%s\n' "$1" "$out" >>"$RUN/tunnel.log"
  grep '^RESULT' <<<"$out" || return 1
}

bench_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Holds $IDLE idle keep-alive clients against PROXY and reports its RSS growth per connection.
bench_idle_memory() {
  local proxy=$1 pid before after fds held i
  pid=$(cat "$RUN/pid.$proxy")
  before=$(bench_rss_kb "$pid")
  taskset -c 1 "$RUN/bin/idleconns" --proxy "127.0.0.1:${PORT[$proxy]}" --url "http://127.0.0.1:$UP_PORT/small" \
    --count "$IDLE" --hold 20 >"$RUN/idle-$proxy.out" 2>&1 &
  local client=$!
  echo "$client" >"$RUN/pid.idleconns"
  for i in $(seq 1 1200); do
    grep -q '^HELD' "$RUN/idle-$proxy.out" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  sleep 3 # let the proxy settle (pool trimming, deferred frees)
  after=$(bench_rss_kb "$pid")
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  held=$(awk '/^HELD/ {print $2}' "$RUN/idle-$proxy.out")
  wait "$client" || true
  rm -f "$RUN/pid.idleconns"
  cat "$RUN/idle-$proxy.out" >>"$RUN/idle.log"
  [ -n "$held" ] && [ "$held" -gt 0 ] || return 1
  printf 'RESULT held=%s rss_before_kib=%s rss_after_kib=%s open_fds=%s per_conn_kib=%.1f\n' \
    "$held" "$before" "$after" "$fds" "$(awk -v a="$after" -v b="$before" -v h="$held" 'BEGIN {print (a - b) / h}')"
}

# bench_profile PROXY LUA PATH OUTFILE: perf record -g of PROXY during one wrk run.
bench_profile() {
  local proxy=$1 lua=$2 path=$3 outfile=$4 pid secs
  pid=$(cat "$RUN/pid.$proxy")
  secs=$DURATION
  bench_wrk "$proxy" "$lua" "$path" "$((secs + 2))" >"$RUN/profile-wrk.txt" &
  local wrkjob=$!
  sleep 1
  perf record -F 997 -g -p "$pid" -o "$RUN/perf.data" -- sleep "$secs" >"$RUN/perf-record.log" 2>&1 || true
  wait "$wrkjob" || true
  bench_perf_summary "$RUN/perf.data" "load during the profile: $(cat "$RUN/profile-wrk.txt")" >"$outfile"
}

# Swift symbols in perf output, readable when the toolchain's demangler is there.
bench_demangle() {
  if command -v swift >/dev/null 2>&1; then swift demangle --simplified --compact 2>/dev/null || cat; else cat; fi
}

# bench_perf_summary PERF_DATA HEADLINE: where the time goes, as text (shared with tls.sh).
bench_perf_summary() {
  local data=$1
  echo "$2"
  echo
  echo "### time by thread and object (perf report --no-children --sort comm,dso -g none)"
  perf report -i "$data" --stdio --no-children --sort comm,dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 || true
  echo
  echo "### self time, top symbols (perf report --no-children --sort dso,sym -g none)"
  perf report -i "$data" --stdio --no-children --sort dso,sym -g none --percent-limit 0.6 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -40 | bench_demangle || true
  echo
  echo "### inclusive time by symbol (perf report --children --sort sym -g none)"
  perf report -i "$data" --stdio --children --sort sym -g none --percent-limit 2.5 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -50 | bench_demangle || true
  return 0

}
