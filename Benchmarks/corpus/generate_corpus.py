#!/usr/bin/env python3
"""Labelled corpus of outbound request bodies for Customs' inspector (synthetic people only).

    generate_corpus.py OUT_DIR [--seed N] [--bytes N] [--ref-date YYYY-MM-DD]

Writes NNNNNN.<ext> bodies with NNNNNN.truth.json sidecars in the pii-sample format
(records, individuals, counts[kind] = {occurrences, distinct}, values[kind] normalised in body
order, decoys, kind, content_type, content_encoding, bytes) and a manifest.json.

Bodies: JSON arrays, nested orders (buyer / receiver / passengers), NDJSON event streams, CSV
(UTF-8, UTF-8 with BOM, GBK), TSV, form-urlencoded, multipart/form-data, plain-text tickets and
gzip'd JSON. People repeat within a body; some are minors; every body carries hard negatives
(18-digit numbers failing MOD 11-2, 11-digit non-mobiles, order ids, timestamps, UUIDs, base64,
masked numbers, snowflake ids) that are checked never to be valid identifiers.
"""
import argparse, base64, csv, datetime, gzip, io, json, os, random, uuid
from urllib.parse import quote, urlencode

from faker import Faker

PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "145", "147", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167", "170", "171",
                   "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186", "187",
                   "188", "189", "190", "191", "193", "195", "196", "197", "198", "199"]
BAD_MOBILE_PREFIXES = ["100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "110", "111",
                       "112", "115", "119", "120", "121", "122", "123", "125", "126", "127", "128", "129", "154", "194"]
CARD_BINS = ["622202", "621700", "622848", "623052", "621226", "622588", "625807", "436742", "403391",
             "524094", "356833", "620522", "621483"]


def id_check(body17):
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, W)) % 11]


def luhn_ok(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        v = int(c)
        if i % 2 == 1:
            v *= 2
            v -= 9 if v > 9 else 0
        s += v
    return s % 10 == 0


def luhn_complete(prefix):
    for c in "0123456789":
        if luhn_ok(prefix + c):
            return prefix + c


class Gen:
    def __init__(self, seed, ref):
        self.r = random.Random(seed)
        self.zh = Faker("zh_CN"); self.zh.seed_instance(seed)
        self.en = Faker("en_US"); self.en.seed_instance(seed + 1)
        self.ref = ref

    # ---- identifiers -------------------------------------------------------------------------
    def birth(self, minor):
        if minor:
            days = self.r.randint(30, 14 * 365 - 30)
        else:
            days = self.r.randint(15 * 365, 80 * 365)
        return self.ref - datetime.timedelta(days=days)

    def id_number(self, b):
        body = "%02d%04d%s%03d" % (self.r.choice(PROVINCES), self.r.randint(100, 9999), b.strftime("%Y%m%d"),
                                   self.r.randint(0, 999))
        return body + id_check(body)

    def mobile(self):
        return self.r.choice(MOBILE_PREFIXES) + "%08d" % self.r.randint(0, 99999999)

    def card(self):
        bin_ = self.r.choice(CARD_BINS)
        length = self.r.choice([16, 16, 19]) if bin_[0] == "6" else 16
        return luhn_complete(bin_ + "".join(self.r.choice("0123456789") for _ in range(length - len(bin_) - 1)))

    def passport(self):
        if self.r.random() < 0.5:
            return "E" + "%08d" % self.r.randint(0, 99999999)
        return "E" + self.r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + "%07d" % self.r.randint(0, 9999999)

    def person(self):
        zh = self.r.random() < 0.85
        minor = self.r.random() < 0.1
        b = self.birth(minor)
        p = {"name": (self.zh if zh else self.en).name(), "birth": b, "address": self.zh.address().replace("\n", " ")}
        if zh or self.r.random() < 0.3:
            p["id_number"] = self.id_number(b)
        p["mobile"] = self.mobile()
        if self.r.random() < 0.6:
            p["email"] = self.zh.email() if self.r.random() < 0.5 else self.en.email()
        if self.r.random() < 0.5:
            p["bank_card"] = self.card()
        if self.r.random() < 0.15:
            p["passport"] = self.passport()
        if self.r.random() < 0.4:
            p["geolocation"] = "%.6f,%.6f" % (self.r.uniform(18, 53), self.r.uniform(73, 135))
        # Under 14 周岁 on ref: the 14th birthday itself still counts (周岁 run from the next day).
        p["minor"] = (b.year + 14, b.month, b.day) >= (self.ref.year, self.ref.month, self.ref.day)
        return p

    # ---- decoys (checked never to be valid identifiers) -----------------------------------------
    def decoy(self, kind):
        r = self.r
        while True:
            if kind == "digits18_idlike_badcheck":
                good = self.id_number(self.birth(False))
                v = good[:17] + r.choice([c for c in "0123456789" if c != good[17]])
            elif kind == "digits11_nonmobile":
                v = r.choice(BAD_MOBILE_PREFIXES) + "%08d" % r.randint(0, 99999999)
            elif kind == "digits19_snowflake":
                v = str(r.randint(10 ** 18, 2 * 10 ** 18))
            elif kind == "ts_ms13":
                v = str(r.randint(1_700_000_000_000, 1_800_000_000_000))
            elif kind == "order_id":
                v = "SO2026%010d" % r.randint(0, 10 ** 10 - 1)
            elif kind == "uuid":
                v = str(uuid.UUID(int=r.getrandbits(128)))
            elif kind == "base64":
                v = base64.b64encode(bytes(r.getrandbits(8) for _ in range(r.randint(24, 120)))).decode()
            elif kind == "masked_mobile":
                m = self.mobile(); v = m[:3] + "****" + m[7:]
            elif kind == "masked_id":
                i = self.id_number(self.birth(False)); v = i[:6] + "********" + i[14:]
            elif kind == "digits16_random":
                v = str(r.randint(10 ** 15, 10 ** 16 - 1))
            if not self.looks_valid(v):
                return v

    def looks_valid(self, v):
        d = v
        if len(d) == 18 and d[:17].isdigit() and d[17] in "0123456789X" and id_check(d[:17]) == d[17]:
            return True
        if len(d) == 11 and d.isdigit() and d[:3] in MOBILE_PREFIXES:
            return True
        if d.isdigit() and 13 <= len(d) <= 19 and luhn_ok(d):
            return True
        return False


class Body:
    """Collects truth while a body is written."""
    def __init__(self):
        self.values = {k: [] for k in ["id_number", "mobile", "email", "bank_card", "passport", "name", "address", "geolocation"]}
        self.people = set()
        self.minor_people = set()
        self.minor_records = 0
        self.records = 0
        self.decoys = {}

    def show(self, p, fields):
        """Person p appears with `fields` (already written by the caller)."""
        shown = False
        for f in fields:
            if f in self.values and p.get(f):
                v = p[f].lower() if f == "email" else p[f]
                self.values[f].append(v); shown = True
        if shown:
            self.people.add(id(p))
            if p["minor"] and ("id_number" in fields or "birthday" in fields):
                self.minor_people.add(id(p))

    def decoy(self, kind):
        self.decoys[kind] = self.decoys.get(kind, 0) + 1

    def truth(self, name, kind, ctype, enc, nbytes):
        return {"file": name, "kind": kind, "content_type": ctype, "content_encoding": enc, "bytes": nbytes,
                "records": self.records, "individuals": len(self.people),
                "counts": {**{k: {"occurrences": len(v), "distinct": len(set(v))} for k, v in self.values.items()},
                           "minor": {"occurrences": len(self.minor_people), "distinct": len(self.minor_people)}},
                "values": self.values, "decoys": self.decoys}


def spaced_mobile(g, m):
    s = g.r.random()
    if s < 0.6: return m
    if s < 0.7: return "+86" + m
    if s < 0.8: return "+86 %s %s %s" % (m[:3], m[3:7], m[7:])
    if s < 0.9: return "%s-%s-%s" % (m[:3], m[3:7], m[7:])
    return "0086" + m


def spaced_card(g, c):
    return " ".join(c[i:i + 4] for i in range(0, len(c), 4)) if g.r.random() < 0.3 else c


def person_fields(g, p, style):
    """A person's fields under one naming style; the first identifier is always shown."""
    keys = {
        "en": {"name": "realName", "id_number": "idCard", "mobile": "phone", "email": "email", "bank_card": "cardNo",
               "passport": "passportNo", "address": "address", "geolocation": "location", "birthday": "birthday"},
        "snake": {"name": "real_name", "id_number": "id_number", "mobile": "mobile_phone", "email": "e_mail",
                  "bank_card": "bank_card_no", "passport": "passport_no", "address": "home_address",
                  "geolocation": "position", "birthday": "date_of_birth"},
        "pinyin": {"name": "xm", "id_number": "sfzh", "mobile": "sjhm", "email": "yx", "bank_card": "yhkh",
                   "passport": "hzhm", "address": "dz", "geolocation": "zuobiao", "birthday": "csrq"},
        "zh": {"name": "姓名", "id_number": "身份证号", "mobile": "手机号", "email": "邮箱", "bank_card": "银行卡号",
               "passport": "护照号", "address": "地址", "geolocation": "经纬度", "birthday": "出生日期"},
    }[style]
    main = "id_number" if p.get("id_number") else "mobile"
    shown = [main, "name"] + [f for f in ["mobile", "email", "bank_card", "passport", "address", "geolocation"]
                              if f != main and p.get(f) and g.r.random() < 0.6]
    if g.r.random() < 0.2: shown.append("birthday")
    out = {}
    for f in shown:
        v = p["birth"].strftime(g.r.choice(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"])) if f == "birthday" else p[f]
        if f == "mobile": v = spaced_mobile(g, v)
        if f == "bank_card": v = spaced_card(g, v)
        out[keys[f]] = v
    return out, shown


def noise(g, b, n=3):
    out = {}
    kinds = ["digits18_idlike_badcheck", "digits11_nonmobile", "digits19_snowflake", "ts_ms13", "order_id", "uuid",
             "masked_mobile", "masked_id", "digits16_random"]
    names = {"digits18_idlike_badcheck": "trace_id", "digits11_nonmobile": "ref_no", "digits19_snowflake": "trade_no",
             "ts_ms13": "ts", "order_id": "order_no", "uuid": "request_id", "masked_mobile": "mobile_masked",
             "masked_id": "id_masked", "digits16_random": "serial"}
    for k in g.r.sample(kinds, n):
        out[names[k]] = g.decoy(k); b.decoy(k)
    if g.r.random() < 0.3:
        out["avatar_thumb"] = g.decoy("base64"); b.decoy("base64")
    return out


def pick(g, pool, n):
    return [g.r.choice(pool) for _ in range(n)]


def json_array(g, pool, b, n):
    rows = []
    for p in pick(g, pool, n):
        f, shown = person_fields(g, p, g.r.choice(["en", "snake", "pinyin", "zh"]))
        row = {"customer_id": g.r.randint(10 ** 7, 10 ** 8), **f, **noise(g, b)}
        keys = list(row.items()); g.r.shuffle(keys)
        rows.append(dict(keys)); b.records += 1; b.show(p, shown)
    return json.dumps({"code": 0, "data": rows} if g.r.random() < 0.5 else rows, ensure_ascii=g.r.random() < 0.5).encode()


def json_nested(g, pool, b, n):
    orders = []
    for _ in range(n):
        people = pick(g, pool, g.r.randint(1, 4))
        people = list({id(p): p for p in people}.values())
        o = {"order_id": g.decoy("order_id"), "trade_no": g.decoy("digits19_snowflake")}
        b.decoy("order_id"); b.decoy("digits19_snowflake")
        f, shown = person_fields(g, people[0], "en"); o["buyer"] = f; b.show(people[0], shown)
        if len(people) > 1:
            f, shown = person_fields(g, people[1], "pinyin"); o["receiver"] = f; b.show(people[1], shown)
        if len(people) > 2:
            o["passengers"] = []
            for p in people[2:]:
                f, shown = person_fields(g, p, "snake"); o["passengers"].append(f); b.show(p, shown)
        o["items"] = [{"sku": "SKU-%05d" % g.r.randint(0, 99999), "price": round(g.r.uniform(1, 999), 2)}]
        orders.append(o); b.records += 1
    return json.dumps({"request_id": g.decoy("uuid"), "merchant": {"id": "M1", "name": g.zh.company()}, "orders": orders},
                      ensure_ascii=False, indent=g.r.choice([None, 2])).encode()


def ndjson(g, pool, b, n):
    lines = []
    users = pick(g, pool, max(1, n // 4))
    uids = {id(p): 10_000_000 + i for i, p in enumerate(users)}
    for _ in range(n):
        p = g.r.choice(users)
        e = {"event": g.r.choice(["login", "checkout", "bind_card"]), "ts": int(g.decoy("ts_ms13")), "uid": uids[id(p)]}
        b.decoy("ts_ms13")
        if g.r.random() < 0.7:
            f, shown = person_fields(g, p, "en"); e["user"] = f; b.show(p, shown)
        else:
            e["props"] = {"page": g.r.randint(1, 9), "ref": g.decoy("digits11_nonmobile")}; b.decoy("digits11_nonmobile")
        lines.append(json.dumps(e, ensure_ascii=False)); b.records += 1
    return ("\n".join(lines) + "\n").encode()


def delimited(g, pool, b, n, sep, encoding):
    cols = ["序号", "姓名", "身份证号", "手机号", "邮箱", "银行卡号", "地址", "trace_id", "remark"]
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, quoting=csv.QUOTE_ALL if g.r.random() < 0.5 else csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(cols)
    for i, p in enumerate(pick(g, pool, n)):
        shown = ["name"]
        row = [str(i + 1), p["name"]]
        idv = p.get("id_number", "")
        if idv:
            shown.append("id_number")
            idv = g.r.choice([idv, "'" + idv, '="%s"' % idv, "\t" + idv]) if sep == "," else idv
        row.append(idv)
        row.append(p["mobile"]); shown.append("mobile")
        for f in ["email", "bank_card", "address"]:
            if p.get(f) and g.r.random() < 0.6: row.append(p[f]); shown.append(f)
            else: row.append("")
        row.append(g.decoy("digits18_idlike_badcheck")); b.decoy("digits18_idlike_badcheck")
        row.append(g.zh.sentence())
        w.writerow(row); b.records += 1; b.show(p, shown)
    text = out.getvalue()
    if encoding == "utf-8-sig": return b"\xef\xbb\xbf" + text.encode()
    return text.encode(encoding)


def form(g, pool, b, _n):
    people = list({id(p): p for p in pick(g, pool, g.r.randint(1, 3))}.values())
    f, shown = person_fields(g, people[0], g.r.choice(["en", "snake", "pinyin"]))
    pairs = [("username", g.en.user_name()), ("password", g.decoy("uuid").replace("-", ""))] + list(f.items())
    b.show(people[0], shown)
    for i, p in enumerate(people[1:]):
        pairs += [("contacts[%d][name]" % i, p["name"]), ("contacts[%d][mobile]" % i, spaced_mobile(g, p["mobile"]))]
        b.show(p, ["name", "mobile"])
    pairs += [("invite_code", g.decoy("digits11_nonmobile")), ("ts", g.decoy("ts_ms13"))]
    b.decoy("digits11_nonmobile"); b.decoy("ts_ms13"); b.records += 1
    return urlencode(pairs).encode()


def multipart(g, pool, b, n):
    boundary = "----customs%08x" % g.r.getrandbits(32)
    p = g.r.choice(pool)
    f, shown = person_fields(g, p, "en")
    parts = []
    for k, v in f.items():
        parts.append('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v))
    b.show(p, shown); b.records += 1
    inner = Body()
    batch = json_array(g, pool, inner, max(1, n // 2))
    parts.append('--%s\r\nContent-Disposition: form-data; name="batch"; filename="batch.json"\r\n'
                 'Content-Type: application/json\r\n\r\n%s\r\n' % (boundary, batch.decode()))
    for k, v in inner.values.items(): b.values[k] += v
    b.people |= inner.people; b.minor_people |= inner.minor_people; b.records += inner.records
    for k, v in inner.decoys.items(): b.decoys[k] = b.decoys.get(k, 0) + v
    body = "".join(parts) + "--%s--\r\n" % boundary
    return body.encode(), "multipart/form-data; boundary=" + boundary


def text(g, pool, b, n):
    lines = []
    for p in pick(g, pool, n):
        t = g.r.random()
        if p.get("id_number") and t < 0.4:
            lines.append("【工单#%06d】客服%04d号：客户%s来电，身份证号%s，手机%s，反映订单%s未收到退款。" % (
                g.r.randint(0, 999999), g.r.randint(0, 9999), p["name"], p["id_number"], spaced_mobile(g, p["mobile"]),
                g.decoy("order_id")))
            b.show(p, ["name", "id_number", "mobile"]); b.decoy("order_id")
        elif t < 0.7:
            lines.append("【工单#%06d】客服%04d号：回访%s：手机号%s，满意度%d分。流水号%s。" % (
                g.r.randint(0, 999999), g.r.randint(0, 9999), p["name"], p["mobile"], g.r.randint(1, 5),
                g.decoy("digits18_idlike_badcheck")))
            b.show(p, ["name", "mobile"]); b.decoy("digits18_idlike_badcheck")
        else:
            extra = "，邮箱%s" % p["email"] if p.get("email") else ""
            lines.append("【工单#%06d】客服%04d号：收件人%s电话%s%s，原号码%s已停用。" % (
                g.r.randint(0, 999999), g.r.randint(0, 9999), p["name"], p["mobile"], extra, g.decoy("masked_mobile")))
            b.show(p, ["name", "mobile"] + (["email"] if extra else [])); b.decoy("masked_mobile")
        b.records += 1
    return ("\n\n".join(lines) + "\n").encode()


KINDS = [
    ("json_array", "json", "application/json; charset=utf-8", None),
    ("json_nested", "json", "application/json", None),
    ("ndjson", "ndjson", "application/x-ndjson", None),
    ("csv_utf8", "csv", "text/csv; charset=utf-8", None),
    ("csv_bom", "csv", "text/csv", None),
    ("csv_gbk", "csv", "text/csv; charset=gbk", None),
    ("tsv", "tsv", "text/tab-separated-values", None),
    ("form", "form", "application/x-www-form-urlencoded", None),
    ("multipart", "multipart", None, None),
    ("text", "txt", "text/plain; charset=utf-8", None),
    ("json_gzip", "json.gz", "application/json", "gzip"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--ref-date", default="2026-11-29")
    a = ap.parse_args()
    ref = datetime.date.fromisoformat(a.ref_date)
    g = Gen(a.seed, ref)
    os.makedirs(a.out, exist_ok=True)
    total, files, i = 0, [], 0
    while total < a.bytes or i < len(KINDS):
        kind, ext, ctype, enc = KINDS[i % len(KINDS)] if i < len(KINDS) else g.r.choice(KINDS)
        # One name per person in a body: two different people with the same name in one order
        # cannot be told apart by anyone.
        pool, seen = [], set()
        while len(pool) < g.r.randint(3, 60) or not pool:
            p = g.person()
            # Faker's e-mails repeat; one address shared by two people would make them one.
            if p["name"] not in seen and p.get("email", "").lower() not in seen:
                seen.add(p["name"]); seen.add(p.get("email", "").lower()); pool.append(p)
        n = g.r.randint(1, 80)
        b = Body()
        if kind in ("json_array", "json_gzip"): data = json_array(g, pool, b, n)
        elif kind == "json_nested": data = json_nested(g, pool, b, max(1, n // 4))
        elif kind == "ndjson": data = ndjson(g, pool, b, n)
        elif kind == "csv_utf8": data = delimited(g, pool, b, n, ",", "utf-8")
        elif kind == "csv_bom": data = delimited(g, pool, b, n, ",", "utf-8-sig")
        elif kind == "csv_gbk": data = delimited(g, pool, b, n, ",", "gb18030")
        elif kind == "tsv": data = delimited(g, pool, b, n, "\t", "utf-8")
        elif kind == "form": data = form(g, pool, b, n)
        elif kind == "multipart": data, ctype = multipart(g, pool, b, n)
        else: data = text(g, pool, b, n)
        if enc == "gzip": data = gzip.compress(data, mtime=0)
        name = "%06d.%s" % (i, ext)
        with open(os.path.join(a.out, name), "wb") as f: f.write(data)
        t = b.truth(name, kind, ctype, enc, len(data))
        with open(os.path.join(a.out, "%06d.truth.json" % i), "w") as f: json.dump(t, f, ensure_ascii=False)
        files.append({"file": name, "kind": kind, "content_type": ctype, "bytes": len(data),
                      "records": t["records"], "individuals": t["individuals"]})
        total += len(data); i += 1
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"generator": "generate_corpus.py", "seed": a.seed, "ref_date": a.ref_date, "bytes": total,
                   "files": len(files), "files_list": files}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
