# Interleaved A/B measurement shared by Benchmarks/gateway-ab.sh and Benchmarks/tls-ab.sh (source
# after lib.sh): each load runs with perf stat attached to the proxy, so besides req/s and p99 the
# table has the proxy's CPU time, context switches and syscalls per request — figures that move far
# less with machine load than throughput does.

# ab_measure NAME LOAD_COMMAND...: runs the load (which prints a RESULT line) for $DURATION seconds
# with perf stat on NAME's pid; prints "NAME rps p99 cpu_ms switches syscalls user_ms sys_ms" as a
# TSV row (user and kernel time from /proc/PID/stat, all threads, over the whole load).
ab_measure() {
  local name=$1; shift
  local pid line rps p99 cpu_ms cs sc before after
  pid=$(cat "$RUN/pid.$name")
  before=$(ab_user_sys_ms "$pid")
  perf stat -e task-clock,context-switches,raw_syscalls:sys_enter -x, -o "$RUN/stat.$name" -p "$pid" -- sleep "$DURATION" 2>/dev/null &
  local statjob=$!
  line=$("$@") || line="RESULT failed"
  wait "$statjob" || true
  after=$(ab_user_sys_ms "$pid")
  rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  cpu_ms=$(awk -F, '$3 ~ /task-clock/ {print $1}' "$RUN/stat.$name")
  cs=$(awk -F, '$3 ~ /context-switches/ {print $1}' "$RUN/stat.$name")
  sc=$(awk -F, '$3 ~ /sys_enter/ {print $1}' "$RUN/stat.$name")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${rps:-0}" "${p99:-0}" "${cpu_ms:-0}" "${cs:-0}" "${sc:-0}" \
    "$(( ${after% *} - ${before% *} ))" "$(( ${after#* } - ${before#* } ))"
}

# ab_user_sys_ms PID: "user_ms sys_ms" the process has used so far (utime and stime of /proc/PID/stat).
ab_user_sys_ms() {
  local hz
  hz=$(getconf CLK_TCK)
  awk -v hz="$hz" '{ sub(/.*\) /, ""); printf "%d %d\n", $12 * 1000 / hz, $13 * 1000 / hz }' "/proc/$1/stat"
}

# ab_header COMMAND_LINE: starts $RUN/table.md.
ab_header() {
  {
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "command: $1"
    echo
    echo "| load | round | binary | req/s | p99 ms | proxy CPU µs/req | user µs/req | kernel µs/req | context switches/req | syscalls/req |"
    echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  } >"$RUN/table.md"
}

# ab_record LOAD LABEL ROUND ROW: keeps one ab_measure row and adds it to the table.
ab_record() {
  local load=$1 label=$2 r=$3 row=$4
  bench_log "$label round $r: $row"
  printf '%s\t%s\t%s\n' "$load" "$r" "$row" >>"$RUN/ab.tsv"
  awk -F'\t' -v label="$label" -v d="$DURATION" '{
    req = $4 * d
    printf "| %s | %s | %s | %.0f | %s | %.1f | %.1f | %.1f | %.2f | %.2f |\n", label, $2, $3, $4, $5,
      (req > 0 ? $6 * 1000 / req : 0), (req > 0 ? $9 * 1000 / req : 0), (req > 0 ? $10 * 1000 / req : 0),
      (req > 0 ? $7 / req : 0), (req > 0 ? $8 / req : 0) }' <<<"$load	$r	$row" >>"$RUN/table.md"
}

# ab_finish NAME...: medians per load and binary with ratios to the first NAME; prints the table
# and copies it to $OUT when set.
ab_finish() {
  python3 - "$RUN/ab.tsv" "$DURATION" "$@" >>"$RUN/table.md" <<'PY'
import statistics, sys
path, duration, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
rows = {}
for line in open(path):
    load, _, name, rps, p99, cpu, cs, sc, user, system = line.rstrip("\n").split("\t")
    rps, p99, cpu, cs, sc, user, system = map(float, (rps, p99, cpu, cs, sc, user, system))
    req = rps * duration
    per = (lambda v: v / req) if req else (lambda v: 0)
    rows.setdefault((load, name), []).append((rps, p99, per(cpu * 1000), per(cs), per(sc), per(user * 1000), per(system * 1000)))
print()
print(f"Medians (ratios to {names[0]}):")
print()
print("| load | binary | req/s | p99 ms | CPU µs/req | user µs/req | kernel µs/req | switches/req | syscalls/req | req/s ratio | CPU/req ratio |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for load in dict.fromkeys(l for l, _ in rows):
    base = None
    for name in names:
        runs = rows.get((load, name))
        if not runs: continue
        med = [statistics.median(r[i] for r in runs) for i in range(7)]
        base = base or med
        print(f"| {load} | {name} | {med[0]:.0f} | {med[1]:.2f} | {med[2]:.1f} | {med[5]:.1f} | {med[6]:.1f} | {med[3]:.2f} | {med[4]:.2f} | "
              f"{med[0] / base[0]:.2f} | {med[2] / base[2] if base[2] else 0:.2f} |")
PY
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/table.md"
  cat "$RUN/table.md"
  if [ -n "${OUT:-}" ]; then cp "$RUN/table.md" "$OUT"; fi
}
