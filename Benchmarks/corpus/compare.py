#!/usr/bin/env python3
"""Compare `customs inspect --json` against .truth.json sidecars: distinct counts per body.

usage: compare.py CUSTOMS_BINARY DIR [DIR...]   (prints mismatches and a per-kind table)
"""
import json, os, subprocess, sys

KINDS = {"id_number": "id_number", "mobile": "mobile", "email": "email", "bank_card": "bank_card",
         "passport": "passport", "name": "name", "address": "address", "geolocation": "geo"}

def main():
    binary, dirs = sys.argv[1], sys.argv[2:]
    files = []
    for d in dirs:
        for f in sorted(os.listdir(d)):
            if f.endswith(".truth.json") or f == "manifest.json" or f.endswith(".md"):
                continue
            files.append(os.path.join(d, f))
    bad = 0
    totals = {}
    for f in files:
        base = os.path.basename(f).split(".")[0]
        truth = json.load(open(os.path.join(os.path.dirname(f), base + ".truth.json")))
        out = subprocess.run([binary, "inspect", "--json", "--as-of", "2026-11-29", "--content-type", truth["content_type"], f]
                             + (["--content-encoding", truth["content_encoding"]] if truth.get("content_encoding") else []),
                             capture_output=True, text=True, check=True).stdout
        got = json.loads(out)
        diffs = []
        for k, (want, have) in {"records": (truth["records"], got["records"]),
                                "subjects": (truth["individuals"], got["subjects"]),
                                "minors": (truth["counts"]["minor"]["distinct"], got["minors"])}.items():
            if want != have: diffs.append(f"{k} {have}/{want}")
        for tk, gk in KINDS.items():
            want = truth["counts"][tk]["distinct"]; have = got["kinds"][gk]
            t = totals.setdefault(tk, [0, 0]); t[0] += want; t[1] += have
            if want != have: diffs.append(f"{tk} {have}/{want}")
        if got["uninspectable"]: diffs.append("UNINSPECTABLE " + got["uninspectable"])
        if diffs:
            bad += 1
            print(os.path.basename(f), truth["kind"], " ".join(diffs))
    print(f"{len(files) - bad}/{len(files)} bodies exact")
    for k, (w, h) in totals.items(): print(f"  {k:12} truth {w:6} found {h:6}")
    return 1 if bad else 0

sys.exit(main())
