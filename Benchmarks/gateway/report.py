#!/usr/bin/env python3
"""Turns the benchmark's results.tsv into the markdown report (medians, side by side, targets).

usage: report.py gateway|tls RESULTS_TSV RUN_DIR OUT_MD
results.tsv lines: section, proxy, run, "RESULT k=v k=v ..." (or "RESULT failed").
"""
import os
import statistics
import sys
from collections import defaultdict

ORDER = ["baseline", "haproxy", "customs", "customs-nolog", "customs-plain", "squid", "squid-log", "tinyproxy", "mitmproxy"]
LABEL = {
    "baseline": "no proxy (baseline)",
    "haproxy": "HAProxy mode tcp (relay, no CONNECT)",
    "customs": "Customs",
    "customs-plain": "Customs, inspection off",
    "customs-nolog": "Customs, access log off",
    "squid": "Squid 5 (access log off)",
    "squid-log": "Squid 5, access log on (daemon:)",
    "tinyproxy": "tinyproxy",
    "mitmproxy": "mitmproxy (mitmdump)",
}


def load(path):
    data = defaultdict(lambda: defaultdict(list))  # section -> proxy -> [dict or None]
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            section, proxy, _run, result = parts
            fields = {}
            for item in result.split()[1:]:
                if "=" in item:
                    k, v = item.split("=", 1)
                    try:
                        fields[k] = float(v)
                    except ValueError:
                        pass
            data[section][proxy].append(fields or None)
    return data


def proxies(rows):
    return sorted(rows, key=lambda p: ORDER.index(p) if p in ORDER else len(ORDER))


def med(runs, key):
    values = [r[key] for r in runs if r and key in r]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    if v is None:
        return "failed"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def verdict(ok):
    return "met" if ok else "**missed**"


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def http_table(out, rows, title):
    out.append(f"### {title}\n")
    out.append("| proxy | requests/s (median) | p50 ms | p99 ms | runs (requests/s) | errors (socket / non-2xx, all runs) |")
    out.append("| --- | ---: | ---: | ---: | --- | --- |")
    for p in proxies(rows):
        runs = rows[p]
        each = ", ".join(fmt(r["rps"]) if r and "rps" in r else "failed" for r in runs)
        sock = sum(int(r.get("socket_errors", 0)) for r in runs if r)
        bad = sum(int(r.get("non2xx", 0)) for r in runs if r)
        out.append(f"| {LABEL.get(p, p)} | {fmt(med(runs, 'rps'))} | {fmt(med(runs, 'p50_ms'), 2)} | "
                   f"{fmt(med(runs, 'p99_ms'), 2)} | {each} | {sock} / {bad} |")
    out.append("")


def gateway(data, run_dir, out):
    targets = []
    if "get" in data:
        http_table(out, data["get"], "Small GET, 64 keep-alive connections, absolute-form")
    if "post" in data:
        http_table(out, data["post"], "POST 16 KiB, 64 keep-alive connections")
    tunnel_sections = [("tunnel_down_1", "download, 1 tunnel"), ("tunnel_down_8", "download, 8 tunnels"),
                       ("tunnel_up_1", "upload, 1 tunnel"), ("tunnel_up_8", "upload, 8 tunnels")]
    present = [(s, t) for s, t in tunnel_sections if s in data]
    if present:
        out.append("### CONNECT tunnel throughput, GB/s (10^9 bytes/s, median)\n")
        out.append("| proxy | " + " | ".join(t for _, t in present) + " |")
        out.append("| --- |" + " ---: |" * len(present))
        names = proxies({p for s, _ in present for p in data[s]})
        for p in names:
            cells = []
            for s, _ in present:
                runs = data[s].get(p, [])
                each = "/".join(fmt(r["gbps"], 2) if r and "gbps" in r else "x" for r in runs)
                cells.append(f"{fmt(med(runs, 'gbps'), 2)} ({each})")
            out.append(f"| {LABEL.get(p, p)} | " + " | ".join(cells) + " |")
        out.append("\nEach cell: median (the runs). HAProxy and the baseline connect straight to the sink/source; "
                   "the proxies carry a CONNECT tunnel.\n")
    if "rate" in data:
        out.append("### New tunnels per second (CONNECT, 200, close; 8 client threads)\n")
        out.append("| proxy | tunnels/s (median) | runs | failed (all runs) |")
        out.append("| --- | ---: | --- | ---: |")
        for p in proxies(data["rate"]):
            runs = data["rate"][p]
            each = ", ".join(fmt(r["per_second"]) if r and "per_second" in r else "failed" for r in runs)
            failed = sum(int(r.get("failed", 0)) for r in runs if r)
            out.append(f"| {LABEL.get(p, p)} | {fmt(med(runs, 'per_second'))} | {each} | {failed} |")
        out.append("\nHAProxy and the baseline: TCP connect and close (no CONNECT request).\n")
    if "memory" in data:
        out.append("### Idle keep-alive client connections (each served one small GET, then held)\n")
        out.append("| proxy | connections held | RSS before, KiB | RSS while held, KiB | open fds | RSS growth per connection, KiB |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for p in proxies(data["memory"]):
            r = data["memory"][p][0]
            if not r:
                out.append(f"| {LABEL.get(p, p)} | failed | | | | |")
                continue
            out.append(f"| {LABEL.get(p, p)} | {fmt(r['held'])} | {fmt(r['rss_before_kib'])} | "
                       f"{fmt(r['rss_after_kib'])} | {fmt(r['open_fds'])} | {fmt(r['per_conn_kib'], 1)} |")
        out.append("")
    if "pi" in data:
        http_table(out, data["pi"], "Issue 6: POST 16 KiB JSON, 50 resident IDs each, different people per request")

    def m(section, proxy, key):
        return med(data.get(section, {}).get(proxy, []), key)

    if "get" in data:
        r = ratio(m("get", "customs", "rps"), m("get", "squid", "rps"))
        targets.append(("small GET requests/s ≥ 3× Squid", r and f"{r:.2f}×", r is not None and r >= 3))
        c, s = m("get", "customs", "p99_ms"), m("get", "squid", "p99_ms")
        targets.append(("p99 at 64 connections below Squid's",
                        None if c is None or s is None else f"{c:.2f} ms vs {s:.2f} ms", c is not None and s is not None and c < s))
        # The target's own pair is Customs (access log on) against Squid (access log off); the same
        # work on both sides, when measured, is shown beside it.
        for section in ("get", "post"):
            for mine, theirs, what in (("customs-nolog", "squid", "both without access log"),
                                       ("customs", "squid-log", "both writing access logs")):
                r = ratio(m(section, mine, "rps"), m(section, theirs, "rps"))
                if r is not None:
                    targets.append((f"{'small GET' if section == 'get' else 'POST 16 KiB'} requests/s vs Squid, "
                                    f"like for like ({what})", f"{r:.2f}×", r >= 3))
    if "post" in data:
        r = ratio(m("post", "customs", "rps"), m("post", "squid", "rps"))
        targets.append(("POST 16 KiB requests/s ≥ 3× Squid", r and f"{r:.2f}×", r is not None and r >= 3))
    for s, t in present:
        r = ratio(m(s, "customs", "gbps"), m(s, "haproxy", "gbps"))
        targets.append((f"CONNECT throughput ≥ HAProxy tcp relay ({t})", r and f"{r:.2f}×", r is not None and r >= 1))
    if "memory" in data and data["memory"].get("customs") and data["memory"]["customs"][0]:
        v = data["memory"]["customs"][0]["per_conn_kib"]
        targets.append(("idle keep-alive connection < 64 KiB", f"{v:.1f} KiB", v < 64))
    elif "memory" in data:
        targets.append(("idle keep-alive connection < 64 KiB", None, False))
    inspecting = read(os.path.join(run_dir, "customs-args.txt")) != ""
    if "pi" in data and not inspecting:
        targets.append(("issue 6 targets", None, False))
        out.append("In the issue-6 table above Customs ran without CUSTOMS_ARGS, i.e. as configured by default "
                   "(no inspection policy given): it shows plain forwarding of these bodies, not inspection.\n")
    if "pi" in data and inspecting:
        ins, plain, sq = m("pi", "customs", "rps"), m("pi", "customs-plain", "rps"), m("pi", "squid", "rps")
        r = ratio(ins, plain)
        targets.append(("issue 6: inspecting keeps ≥ 70% of plain forwarding", r and f"{r:.2f}", r is not None and r >= 0.7))
        r = ratio(ins, sq)
        targets.append(("issue 6: inspecting beats Squid's plain forwarding", r and f"{r:.2f}×", r is not None and r > 1))
    return targets


def tls(data, run_dir, out):
    targets = []
    if "https_keepalive" in data:
        http_table(out, data["https_keepalive"], "HTTPS requests/s through interception, keep-alive")
    if "https_new" in data:
        http_table(out, data["https_new"], "New intercepted connections/s (CONNECT, both TLS handshakes, one request, close)")
    for s, t in (("https_keepalive", "keep-alive HTTPS requests/s ≥ 2× Squid"),
                 ("https_new", "new intercepted connections/s ≥ 2× Squid")):
        if s in data:
            r = ratio(med(data[s].get("customs", []), "rps"), med(data[s].get("squid", []), "rps"))
            targets.append((t, r and f"{r:.2f}×", r is not None and r >= 2))
    return targets


def main():
    kind, tsv, run_dir, out_path = sys.argv[1:5]
    data = load(tsv)
    out = []
    title = "Gateway benchmark (issues 2 and 6)" if kind == "gateway" else "TLS interception benchmark (issue 7)"
    out.append(f"# {title}\n")
    out.append("Written by `Benchmarks/" + ("gateway.sh" if kind == "gateway" else "tls.sh") + "`; numbers from one run.\n")
    out.append("## Machine and setup\n")
    out.append("```")
    out.append(read(os.path.join(run_dir, "machine.txt")))
    out.append("```\n")
    out.append("Proxy under test pinned to core 0 (`taskset -c 0`); load generator and upstream servers on core 1. "
               "Other work on the machine (builds by other developers) adds noise: compare within a table, "
               "runs are interleaved across proxies.\n")
    out.append("Reading these numbers: when the load average above is well over 2, other work shared the "
               "proxy's core during the run. Customs runs several threads (libdispatch queues and workers) "
               "while Squid, tinyproxy, HAProxy (nbthread 1) and mitmproxy run one busy thread, so on a "
               "crowded core the scheduler gives Customs a larger share: ratios measured under load favour "
               "Customs, and a quiet machine is the fair referee. Medians hide the spread; every run is listed.\n")
    out.append("Command:\n\n```")
    out.append(read(os.path.join(run_dir, "command.txt")))
    out.append("```\n")
    out.append("Versions and exact proxy invocations:\n\n```")
    out.append(read(os.path.join(run_dir, "versions.txt")))
    out.append("```\n")
    if kind == "gateway":
        out.append("Issue 6 load (section `pi`): `pi.lua` makes every request's 16 KiB JSON body as it goes, "
                   "50 people each with a valid resident ID that no earlier request carried (each run starts "
                   "its own stretch of the ID sequence). Run it with Customs inspecting and not inspecting:\n")
        out.append("```")
        out.append('SECTIONS=pi CUSTOMS_ARGS="<flags that make 127.0.0.1 an overseas recipient and inspect>" \\')
        out.append('  CUSTOMS_PLAIN_ARGS="<the same with inspection off>" Benchmarks/gateway.sh')
        out.append("```\n")
    out.append("## Results\n")
    targets = (gateway if kind == "gateway" else tls)(data, run_dir, out)
    if targets:
        out.append("## Targets\n")
        out.append("| target | measured | |")
        out.append("| --- | --- | --- |")
        for name, value, ok in targets:
            out.append(f"| {name} | {value or 'not measured'} | {verdict(ok) if value else '**not measured**'} |")
        out.append("")
    notes = read(os.path.join(run_dir, "notes.txt"))
    if notes:
        out.append("## Notes from the run\n")
        out.extend(f"- {n}" for n in notes.splitlines())
        out.append("")
    for name, heading in (("profile-get.txt", "Profile: Customs during the small-GET load (perf record -g)"),
                          ("profile-tls.txt", "Profile: Customs during the keep-alive HTTPS load (perf record -g)")):
        text = read(os.path.join(run_dir, name))
        if text:
            out.append(f"## {heading}\n")
            out.append("```")
            out.append(text)
            out.append("```\n")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
