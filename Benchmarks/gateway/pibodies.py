#!/usr/bin/env python3
"""Writes the issue-6 benchmark bodies: one 16 KiB JSON document per line, 50 people each.

Every person has a resident ID number with a valid GB 11643 check digit, and no ID repeats in the
file (IDs come from a counter spread over area codes, birth dates and sequence numbers), so each
request carries people the gateway has not seen in the earlier requests of the file.

usage: pibodies.py OUT_FILE [COUNT] [SEED]
"""
import json
import random
import sys

SIZE = 16384
PEOPLE = 50
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
AREAS = ("110101", "110105", "120101", "310101", "310115", "320102", "330106", "440103",
         "440305", "510104", "420102", "610102", "370102", "350102", "430102", "500103")
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Xiu", "Hui")


def resident_id(n: int) -> str:
    """The n-th distinct ID: sequence, then area, then birth day (valid civil dates 1960..2005)."""
    seq = n % 999 + 1
    n //= 999
    area = AREAS[n % len(AREAS)]
    n //= len(AREAS)
    year = 1960 + (n // 336) % 46
    month = (n // 28) % 12 + 1
    day = n % 28 + 1
    body = f"{area}{year:04d}{month:02d}{day:02d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS))
    return body + CHECK[total % 11]


def document(index: int, rng: random.Random) -> str:
    people = []
    for k in range(PEOPLE):
        people.append({
            "customer": f"C{index:07d}{k:02d}",
            "name": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
            "id_number": resident_id(index * PEOPLE + k),
            "tier": rng.choice(("gold", "silver", "basic")),
        })
    doc = {"batch": index, "source": "crm-export", "records": people, "note": ""}
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    pad = SIZE - len(text.encode())
    if pad < 0:
        raise SystemExit(f"document {index} is {len(text)} bytes, over {SIZE}")
    doc["note"] = "x" * pad
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    assert len(text.encode()) == SIZE
    return text


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 6)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            f.write(document(i, rng))
            f.write("\n")


if __name__ == "__main__":
    main()
