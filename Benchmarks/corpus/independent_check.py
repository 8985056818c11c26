#!/usr/bin/env python3
"""Compares `customs inspect --json --value-keys` with the sidecars of independent_corpus.py.

Values are compared as keyed hashes (HMAC-SHA256(secret, "kind:normalised")[:16], the inspector's
`--value-keys`), so the inspector never prints a value; a missed value is named from the truth and
a false positive is named when it is one of the body's labelled decoys.

usage: independent_check.py CUSTOMS_BINARY DIR [--details]   prints a Markdown table (and with
--details every disagreeing body)
"""
import collections, hashlib, hmac, json, os, subprocess, sys, tempfile

SECRET = b"customs-independent"
KINDS = ["id_number", "mobile", "email", "bank_card", "passport"]


def key(kind, v):
    return hmac.new(SECRET, ("%s:%s" % (kind, v)).encode(), hashlib.sha256).hexdigest()[:32]


def decoy_keys(decoys):
    """Keys a decoy would have under each kind, to name false positives."""
    out = {}
    for d in decoys:
        digits = "".join(c for c in d if c.isdigit())
        for kind, v in (("id_number", d.upper()), ("bank_card", digits), ("mobile", "+86" + digits[-11:]),
                        ("email", d.lower()), ("passport", d.upper())):
            out[key(kind, v)] = d
    return out


def main():
    binary, folder = sys.argv[1], sys.argv[2]
    details = "--details" in sys.argv
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(SECRET)
        secret_file = f.name
    bodies = collections.defaultdict(list)
    truths = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".truth.json"): continue
        path = os.path.join(folder, name)
        t = json.load(open(os.path.join(folder, name.split(".")[0] + ".truth.json")))
        truths[path] = t
        bodies[(t["content_type"], t["content_encoding"] or "identity", t["flow_date"])].append(path)
    got = {}
    for (ct, ce, day), paths in bodies.items():
        for i in range(0, len(paths), 200):
            out = subprocess.run([binary, "inspect", "--json", "--value-keys", "--secret-file", secret_file,
                                  "--as-of", day, "--content-type", ct, "--content-encoding", ce] + paths[i:i + 200],
                                 capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                r = json.loads(line)
                got[r["file"]] = r
    os.unlink(secret_file)

    stats = {k: [0, 0, 0] for k in KINDS}  # tp, fp, fn
    exact = collections.Counter()
    by_format = collections.defaultdict(lambda: collections.Counter())
    problems = []
    for path, t in sorted(truths.items()):
        r = got[path]
        fmt = t["format"].split("+")[0]
        vals = r.get("values", {})
        dk = decoy_keys(t["decoys"])
        notes = []
        for k in KINDS:
            want = {key(k, v): v for v in t["values"][k]}
            have = set(vals.get(k, []))
            s = stats[k]
            s[0] += len(want.keys() & have); s[1] += len(have - want.keys()); s[2] += len(want.keys() - have)
            for m in sorted(want.keys() - have): notes.append("missed %s %s" % (k, want[m]))
            for m in sorted(have - want.keys()): notes.append("extra %s %s" % (k, dk.get(m, "(not a labelled decoy)")))
        ok = {"records": r["records"] == t["records"], "subjects": r["subjects"] == t["subjects"],
              "minors": r["minors"] == t["minors"], "inspectable": r["uninspectable"] is None}
        for k, v in ok.items():
            exact[k] += v; by_format[fmt][k] += v
        exact["bodies"] += 1; by_format[fmt]["bodies"] += 1
        if not all(ok.values()) or notes:
            problems.append((path, t["format"], t["records"], r["records"], t["subjects"], r["subjects"], t["minors"],
                             r["minors"], r["uninspectable"], notes))

    print("| kind | truth values | found | recall | precision |")
    print("|---|---:|---:|---:|---:|")
    for k in KINDS:
        tp, fp, fn = stats[k]
        rec = 100.0 * tp / (tp + fn) if tp + fn else 100.0
        pre = 100.0 * tp / (tp + fp) if tp + fp else 100.0
        print("| %s | %d | %d | %.4f%% | %.4f%% |" % (k, tp + fn, tp + fp, rec, pre))
    print()
    print("| format | bodies | inspectable | exact records | exact subjects | exact minors |")
    print("|---|---:|---:|---:|---:|---:|")
    for fmt in sorted(by_format) + ["all"]:
        c = exact if fmt == "all" else by_format[fmt]
        print("| %s | %d | %d | %d | %d | %d |" % (fmt, c["bodies"], c["inspectable"], c["records"], c["subjects"], c["minors"]))
    if details:
        print()
        for p in problems:
            print("%s %s records %d/%d subjects %d/%d minors %d/%d%s" % (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
                  " UNINSPECTABLE " + p[8] if p[8] else ""))
            for n in p[9][:12]: print("    " + n)


if __name__ == "__main__":
    main()
