#!/usr/bin/env python3
"""Recall / precision per kind and exact distinct counts per body, from `customs inspect --json
--value-keys` against the .truth.json sidecars. Values are compared as keyed hashes
(HMAC-SHA256(secret, "kind:normalised")[:16]) so the inspector never prints a value.

usage: accuracy.py CUSTOMS_BINARY DIR [DIR...]   prints a Markdown table
"""
import hashlib, hmac, json, os, subprocess, sys, tempfile

SECRET = b"customs-accuracy"
KINDS = [("id_number", "id_number"), ("mobile", "mobile"), ("email", "email"), ("bank_card", "bank_card"),
         ("passport", "passport"), ("name", "name"), ("address", "address"), ("geolocation", "geo")]


def norm(kind, v):
    if kind == "mobile":
        d = "".join(c for c in v if c.isdigit())
        return "+86" + d[-11:]
    if kind == "bank_card": return "".join(c for c in v if c.isdigit())
    if kind in ("id_number", "passport"): return v.upper()
    if kind == "email": return v.lower()
    if kind == "geolocation":
        a, b = (float(x) for x in v.replace(" ", "").split(","))
        lat, lon = (b, a) if abs(a) > 90 else (a, b)
        return "%.6f,%.6f" % (lat, lon)
    return v.strip()


def key(kind, v):
    return hmac.new(SECRET, ("%s:%s" % (kind, v)).encode(), hashlib.sha256).hexdigest()[:32]


def main():
    binary, dirs = sys.argv[1], sys.argv[2:]
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(SECRET); secret_file = f.name
    files = []
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if name.endswith(".truth.json") or name == "manifest.json" or name.endswith(".md"): continue
            files.append(os.path.join(d, name))
    stats = {k: [0, 0, 0] for k, _ in KINDS}  # tp, fp, fn
    exact = {"records": 0, "subjects": 0, "minors": 0, "all": 0}
    by_type = {}
    for path in files:
        truth = json.load(open(os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0] + ".truth.json")))
        args = [binary, "inspect", "--json", "--value-keys", "--secret-file", secret_file, "--as-of",
                truth.get("ref_date", "2026-11-29")]
        if truth.get("content_type"): args += ["--content-type", truth["content_type"]]
        if truth.get("content_encoding"): args += ["--content-encoding", truth["content_encoding"]]
        got = json.loads(subprocess.run(args + [path], capture_output=True, text=True, check=True).stdout)
        values = got.get("values", {})
        for tk, gk in KINDS:
            want = {key(gk, norm(tk, v)) for v in truth["values"].get(tk, [])}
            have = set(values.get(gk, []))
            s = stats[tk]; s[0] += len(want & have); s[1] += len(have - want); s[2] += len(want - have)
        ok_r = got["records"] == truth["records"]
        ok_s = got["subjects"] == truth["individuals"]
        ok_m = got["minors"] == truth["counts"]["minor"]["distinct"]
        exact["records"] += ok_r; exact["subjects"] += ok_s; exact["minors"] += ok_m; exact["all"] += ok_r and ok_s and ok_m
        t = by_type.setdefault(truth["kind"], [0, 0]); t[0] += 1; t[1] += ok_s
    n = len(files)
    print("| kind | truth values | found | recall | precision |")
    print("|---|---:|---:|---:|---:|")
    for k, _ in KINDS:
        tp, fp, fn = stats[k]
        rec = tp / (tp + fn) if tp + fn else 1.0
        prec = tp / (tp + fp) if tp + fp else 1.0
        print("| %s | %d | %d | %.4f%% | %.4f%% |" % (k, tp + fn, tp + fp, 100 * rec, 100 * prec))
    print()
    print("| bodies | exact records | exact people (distinct subjects) | exact minors |")
    print("|---:|---:|---:|---:|")
    print("| %d | %d | %d | %d |" % (n, exact["records"], exact["subjects"], exact["minors"]))
    print()
    print("exact people by body type: " + ", ".join("%s %d/%d" % (k, v[1], v[0]) for k, v in sorted(by_type.items())))
    os.unlink(secret_file)


if __name__ == "__main__":
    main()
