#!/usr/bin/env python3
"""An independent labelled corpus for the inspector, written from issue 4's text and REGULATIONS.md
section 5 only (not from generate_corpus.py), to check that the inspector has not learned the
habits of our own generator.

Every body `NNNNNN.EXT` gets a sidecar `NNNNNN.truth.json`:
  format, content_type, content_encoding, flow_date,
  records   – person entries (the smallest object / row / line / note holding a person identifier),
  subjects  – distinct people in the body,
  minors    – distinct people under 14 on flow_date (UTC+8) known from an ID's birth date,
  values    – per kind (id_number, mobile, email, bank_card, passport) the distinct normalised values
              (ID upper-case, mobile "+86" + 11 digits, e-mail lower-case, card digits only),
  decoys    – the non-PI look-alikes placed in the body (for reading false positives).

usage: independent_corpus.py --out DIR [--seed N] [--bodies N]
"""
import argparse, base64, datetime, gzip, io, json, os, random, string, urllib.parse, uuid, zlib

from faker import Faker

FLOW = datetime.date(2026, 11, 29)
# Under 14 on FLOW: born after FLOW minus 14 years. Births within two days of that edge are not
# generated (the day a child turns 14 is a legal-reading question, not a detector one).
MINOR_EDGE = datetime.date(2012, 11, 29)

AREAS = ["110101", "110105", "120101", "130102", "140105", "150102", "210102", "220102", "230102",
         "310104", "310115", "320102", "330106", "340102", "350203", "360102", "370202", "410105",
         "420102", "430102", "440305", "440106", "450103", "460105", "500103", "510107", "520102",
         "530102", "540102", "610113", "620102", "630102", "640104", "650102"]
MOBILE_PREFIXES = (["13%d" % i for i in range(10)] + ["145", "147", "149"] +
                   ["15%d" % i for i in range(10) if i != 4] + ["162", "165", "166", "167"] +
                   ["170", "171", "172", "173", "175", "176", "177", "178"] +
                   ["18%d" % i for i in range(10)] + ["19%d" % i for i in range(10) if i != 4])
MAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com",
                "hotmail.com", "yahoo.com", "aliyun.com", "139.com", "corp.example.cn", "mail.shop-example.com"]

FIELDS = {
    "english_snake": dict(name="full_name", id="id_number", mobile="mobile", email="email", card="bank_card",
                          addr="address", birth="birth_date", passport="passport_no"),
    "english_camel": dict(name="fullName", id="idNumber", mobile="mobilePhone", email="emailAddress",
                          card="bankCardNo", addr="homeAddress", birth="dateOfBirth", passport="passportNo"),
    "abbrev": dict(name="name", id="idNo", mobile="tel", email="mail", card="cardNo", addr="addr",
                   birth="dob", passport="ppt_no"),
    "abbrev2": dict(name="realName", id="id_card", mobile="cell", email="e_mail", card="acct_no",
                    addr="addr", birth="birthday", passport="passport"),
    "chinese": dict(name="姓名", id="身份证号", mobile="手机号", email="邮箱", card="银行卡号", addr="地址",
                    birth="出生日期", passport="护照号码"),
    "chinese2": dict(name="联系人", id="证件号码", mobile="联系电话", email="电子邮箱", card="银行卡",
                     addr="收货地址", birth="生日", passport="护照号"),
    "pinyin": dict(name="xingming", id="sfzh", mobile="shouji", email="youxiang", card="yhkh", addr="dizhi",
                   birth="csrq", passport="huzhao"),
    "upper": dict(name="NAME", id="ID_NO", mobile="PHONE", email="EMAIL", card="CARD_NO", addr="ADDRESS",
                  birth="BIRTHDAY", passport="PASSPORT"),
}


class Person:
    __slots__ = ("name", "birth", "id", "id15", "mobile", "email", "card", "passport", "addr", "minor")


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.zh = Faker("zh_CN"); self.zh.seed_instance(seed)
        self.en = Faker("en_US"); self.en.seed_instance(seed + 1)
        self.used = {"id": set(), "mobile": set(), "email": set(), "card": set(), "passport": set()}

    # ---- identifiers ---------------------------------------------------------------------------
    @staticmethod
    def id_check(body17):
        w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        return "10X98765432"[sum(int(c) * k for c, k in zip(body17, w)) % 11]

    @staticmethod
    def luhn_digit(partial):
        total = 0
        for i, c in enumerate(reversed(partial)):
            d = int(c)
            if i % 2 == 0:
                d *= 2
                if d > 9: d -= 9
            total += d
        return str((10 - total % 10) % 10)

    @staticmethod
    def luhn_ok(num):
        return Gen.luhn_digit(num[:-1]) == num[-1]

    def unique(self, kind, make):
        while True:
            v = make()
            if v not in self.used[kind]:
                self.used[kind].add(v); return v

    def birth(self, minor):
        r = self.r
        while True:
            if minor:
                d = datetime.date(2012, 12, 2) + datetime.timedelta(days=r.randrange(0, 5000))
                if d <= FLOW - datetime.timedelta(days=30): return d
            else:
                d = datetime.date(1935, 1, 1) + datetime.timedelta(days=r.randrange(0, 28000))
                if d <= MINOR_EDGE - datetime.timedelta(days=2): return d

    def new_id(self, b):
        def make():
            body = self.r.choice(AREAS) + b.strftime("%Y%m%d") + "%03d" % self.r.randrange(1000)
            return body + self.id_check(body)
        return self.unique("id", make)

    def new_id15(self, b):
        return self.unique("id", lambda: self.r.choice(AREAS) + b.strftime("%y%m%d") + "%03d" % self.r.randrange(1000))

    def new_mobile(self):
        return self.unique("mobile", lambda: self.r.choice(MOBILE_PREFIXES) + "%08d" % self.r.randrange(10 ** 8))

    def new_card(self):
        def make():
            kind = self.r.random()
            if kind < 0.2:
                # Faker's card types with 13-19 digits (its 12-digit maestro is no card under issue 4)
                return self.en.credit_card_number(card_type=self.r.choice(
                    ["amex", "diners", "discover", "jcb15", "jcb16", "mastercard", "visa13", "visa16", "visa19"]))
            if kind < 0.55: p = "62" + "".join(self.r.choice(string.digits) for _ in range(13))          # 16
            elif kind < 0.75: p = "62" + "".join(self.r.choice(string.digits) for _ in range(16))        # 19
            elif kind < 0.9: p = "4" + "".join(self.r.choice(string.digits) for _ in range(14))          # 16 Visa
            else: p = "5" + self.r.choice("12345") + "".join(self.r.choice(string.digits) for _ in range(13))
            return p + self.luhn_digit(p)
        return self.unique("card", make)

    def new_email(self, p_name_en):
        def make():
            r = self.r
            style = r.random()
            if style < 0.3: local = self.en.user_name()
            elif style < 0.5: local = "".join(r.choice(string.ascii_lowercase) for _ in range(r.randint(4, 9))) + str(r.randrange(1000))
            elif style < 0.62: local = str(r.randrange(10 ** 5, 10 ** 10))  # QQ-number mailbox
            elif style < 0.65: local = r.choice(MOBILE_PREFIXES) + "%08d" % r.randrange(10 ** 8)  # a phone-number mailbox: an e-mail, not a mobile
            elif style < 0.8: local = p_name_en.lower().replace(" ", ".")
            else: local = self.en.first_name().lower() + "_" + self.en.last_name().lower() + str(r.randrange(100))
            local = ".".join(x for x in "".join(c for c in local if c.isalnum() or c in "._-").split(".") if x)
            if r.random() < 0.05 and not local.isdigit(): local += "+shop"
            return local + "@" + r.choice(MAIL_DOMAINS)
        return self.unique("email", make)

    def new_passport(self):
        def make():
            r = self.r
            if r.random() < 0.5: return "E" + "%08d" % r.randrange(10 ** 8)
            return "E" + r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + "%07d" % r.randrange(10 ** 7)
        return self.unique("passport", make)

    def person(self, minor=None, mobile=True, email=None, card=None, passport=False, id15=None):
        r = self.r
        p = Person()
        p.minor = (r.random() < 0.12) if minor is None else minor
        p.birth = self.birth(p.minor)
        p.name = self.zh.name() if r.random() < 0.8 else self.en.name()
        p.id15 = (id15 if id15 is not None else r.random() < 0.04) and not p.minor and p.birth.year < 1999
        p.id = self.new_id15(p.birth) if p.id15 else self.new_id(p.birth)
        p.mobile = self.new_mobile() if mobile else None
        p.email = self.new_email(self.en.name()) if (email if email is not None else r.random() < 0.6) else None
        p.card = self.new_card() if (card if card is not None else r.random() < 0.35) else None
        p.passport = self.new_passport() if passport else None
        p.addr = self.zh.address().replace("\n", " ")
        return p

    # ---- spellings -----------------------------------------------------------------------------
    def spell_mobile(self, m, plain=False):
        r = self.r
        if plain: return m
        x = r.random()
        if x < 0.45: return m
        if x < 0.55: return "+86" + m
        if x < 0.6: return "+86 " + m
        if x < 0.65: return "0086" + m
        if x < 0.7: return "86" + m
        if x < 0.8: return "%s %s %s" % (m[:3], m[3:7], m[7:])
        if x < 0.88: return "%s-%s-%s" % (m[:3], m[3:7], m[7:])
        if x < 0.93: return "+86 %s %s %s" % (m[:3], m[3:7], m[7:])
        return "+86-%s-%s-%s" % (m[:3], m[3:7], m[7:])

    def spell_id(self, i):
        if i.endswith("X") and self.r.random() < 0.4: return i[:-1] + "x"
        return i

    def spell_card(self, c):
        x = self.r.random()
        if x < 0.6: return c
        sep = " " if x < 0.85 else "-"
        return sep.join(c[k:k + 4] for k in range(0, len(c), 4))

    def spell_email(self, e):
        x = self.r.random()
        if x < 0.85: return e
        if x < 0.93: return e.upper() if self.r.random() < 0.3 else e[0].upper() + e[1:]
        local, dom = e.split("@")
        return local + "@" + dom.upper()

    @staticmethod
    def fullwidth(s):
        return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in s)

    # ---- decoys --------------------------------------------------------------------------------
    def bad_id(self):
        while True:
            body = self.r.choice(AREAS) + self.birth(False).strftime("%Y%m%d") + "%03d" % self.r.randrange(1000)
            c = self.r.choice("0123456789X")
            if c != self.id_check(body): return body + c

    def non_mobile11(self):
        r = self.r
        x = r.random()
        if x < 0.3: return "1" + r.choice("012") + "%09d" % r.randrange(10 ** 9)
        if x < 0.5: return "154" + "%08d" % r.randrange(10 ** 8)
        if x < 0.6: return "194" + "%08d" % r.randrange(10 ** 8)
        if x < 0.8: return "0" + r.choice("12579") + "%09d" % r.randrange(10 ** 9)       # landline-like
        return str(r.randint(2, 9)) + "%010d" % r.randrange(10 ** 10)

    def non_luhn(self, n):
        while True:
            s = str(self.r.randint(1, 9)) + "".join(self.r.choice(string.digits) for _ in range(n - 1))
            if not self.luhn_ok(s): return s

    def order_id(self):
        r = self.r
        x = r.random()
        if x < 0.25: return "ORD" + "".join(r.choice(string.digits) for _ in range(14))
        if x < 0.5: return datetime.datetime(2026, 11, r.randint(1, 28), r.randrange(24), r.randrange(60)).strftime("%Y%m%d%H%M") + "%06d" % r.randrange(10 ** 6)
        if x < 0.75: return "SO-%d-%05d" % (r.randint(2020, 2026), r.randrange(10 ** 5))
        # random digits, Luhn-valid one time in ten like any such number
        return str(r.randint(1, 9)) + "".join(r.choice(string.digits) for _ in range(r.choice([15, 18])))

    def ts_ms(self):
        return str(self.r.randint(1_700_000_000_000, 1_800_000_000_000))

    def masked_mobile(self, m):
        return m[:3] + "****" + m[-4:]

    def masked_id(self, i):
        return i[:6] + "********" + i[-4:]

    def token(self):
        return base64.b64encode(bytes(self.r.randrange(256) for _ in range(self.r.choice([18, 24, 33])))).decode()

    def decoy_fields(self, d, decoys, person=None):
        """Adds non-PI look-alikes to a record (dict), labelled in `decoys`."""
        r = self.r
        if r.random() < 0.5:
            v = self.order_id(); decoys.append(v)
            d[r.choice(["order_id", "orderNo", "out_trade_no", "transactionId", "tracking_number", "订单号", "流水号"])] = v
        if r.random() < 0.4: d["createdAt"] = v = int(self.ts_ms()); decoys.append(str(v))
        if r.random() < 0.3: d["traceId"] = v = str(uuid.UUID(int=r.getrandbits(128))); decoys.append(v)
        if r.random() < 0.15: d["refNo"] = v = self.bad_id(); decoys.append(v)
        if r.random() < 0.15: d["sku"] = v = self.non_mobile11(); decoys.append(v)
        if r.random() < 0.1: d["sign"] = v = self.token(); decoys.append(v)
        if person is not None and r.random() < 0.1 and person.mobile:
            d["mobile_masked"] = v = self.masked_mobile(person.mobile); decoys.append(v)
        if person is not None and r.random() < 0.05 and len(person.id) == 18:
            d["id_masked"] = v = self.masked_id(person.id); decoys.append(v)


class Body:
    """Accumulates ground truth while a body is written."""

    def __init__(self):
        self.records = 0
        self.people = {}   # identity -> Person
        self.values = {"id_number": set(), "mobile": set(), "email": set(), "bank_card": set(), "passport": set()}
        self.decoys = []
        self.minors = set()

    def saw(self, p, ident=True, mobile=True, email=True, card=True, passport=True):
        """Person `p` appears with the named identifiers (those it has)."""
        self.people[id(p)] = p
        if ident and p.id:
            self.values["id_number"].add(p.id.upper())
            if p.minor and not p.id15: self.minors.add(id(p))
        if mobile and p.mobile: self.values["mobile"].add("+86" + p.mobile)
        if email and p.email: self.values["email"].add(p.email.lower())
        if card and p.card: self.values["bank_card"].add(p.card)
        if passport and p.passport: self.values["passport"].add(p.passport)

    def truth(self, **extra):
        minors = len(self.minors)
        t = dict(records=self.records, subjects=len(self.people), minors=minors,
                 values={k: sorted(v) for k, v in self.values.items()}, decoys=self.decoys,
                 flow_date=FLOW.isoformat())
        t.update(extra)
        return t


def person_dict(g, p, f, body, with_fields=("name", "id", "mobile", "email", "card", "addr"), numbers=False,
                fullwidth=False):
    """One person as a dict of fields named by dialect `f`; records what was shown in `body`."""
    r = g.r
    d = {}
    shown = dict(ident=False, mobile=False, email=False, card=False, passport=False)
    for k in with_fields:
        if k == "name": d[f["name"]] = p.name
        elif k == "id" and p.id:
            v = g.spell_id(p.id)
            if numbers and v.isdigit() and r.random() < 0.3: v = int(v)
            elif fullwidth and r.random() < 0.3: v = g.fullwidth(v)
            d[f["id"]] = v; shown["ident"] = True
        elif k == "mobile" and p.mobile:
            v = g.spell_mobile(p.mobile)
            if numbers and v.isdigit() and r.random() < 0.3: v = int(v)
            elif fullwidth and r.random() < 0.2: v = g.fullwidth(v)
            d[f["mobile"]] = v; shown["mobile"] = True
        elif k == "email" and p.email: d[f["email"]] = g.spell_email(p.email); shown["email"] = True
        elif k == "card" and p.card: d[f["card"]] = g.spell_card(p.card); shown["card"] = True
        elif k == "passport" and p.passport: d[f["passport"]] = p.passport; shown["passport"] = True
        elif k == "addr": d[f["addr"]] = p.addr
        elif k == "birth": d[f["birth"]] = p.birth.isoformat() if r.random() < 0.7 else p.birth.strftime("%Y/%m/%d")
    body.saw(p, **shown)
    return d


# ---- body writers --------------------------------------------------------------------------------

def pick_people(g, n, repeat=0.2, **kw):
    """n appearances with about `repeat` of them by someone already listed."""
    out = []
    for _ in range(n):
        if out and g.r.random() < repeat: out.append(g.r.choice(out))
        else: out.append(g.person(**kw))
    return out


def dumps(obj, ascii_escapes):
    return json.dumps(obj, ensure_ascii=ascii_escapes, indent=None if ascii_escapes else g_indent())


_indent_choice = [None]
def g_indent():
    return _indent_choice[0]


def json_flat(g):
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    fields = ["name", "id", "mobile", "email", "card", "addr"] + (["birth"] if g.r.random() < 0.4 else [])
    rows = []
    for p in pick_people(g, g.r.randint(3, 40)):
        d = person_dict(g, p, f, b, fields, numbers=True, fullwidth=g.r.random() < 0.2)
        g.decoy_fields(d, b.decoys, p)
        rows.append(d); b.records += 1
    shape = g.r.random()
    if shape < 0.4: doc = rows
    elif shape < 0.7: doc = {"code": 0, "msg": "ok", "data": {"total": len(rows), "list": rows}}
    else: doc = {"requestId": str(uuid.UUID(int=g.r.getrandbits(128))), "page": {"items": rows}}
    return doc, b, "json_flat"


def json_keyed(g):
    """Records as an object keyed by user id."""
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    users = {}
    for p in pick_people(g, g.r.randint(3, 25), repeat=0.0):
        d = person_dict(g, p, f, b, ["name", "id", "mobile", "email"], numbers=True)
        users["u%08d" % g.r.randrange(10 ** 8)] = d
    b.records = 1  # no array: the document is the one record
    return {"users": users, "exportedAt": int(g.ts_ms())}, b, "json_keyed"


def json_orders(g):
    """Orders with buyer, receiver and passengers; one person may be buyer and a passenger."""
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    orders = []
    pool = []
    for _ in range(g.r.randint(2, 15)):
        buyer = g.r.choice(pool) if pool and g.r.random() < 0.2 else g.person(minor=False)
        pool.append(buyer)
        o = {"orderId": g.order_id(), "amount": round(g.r.uniform(10, 5000), 2), "createdAt": int(g.ts_ms())}
        b.decoys += [o["orderId"], str(o["createdAt"])]
        o["buyer"] = person_dict(g, buyer, f, b, ["name", "mobile", "email", "id"], numbers=True); b.records += 1  # the order
        kind = g.r.random()
        if kind < 0.35:
            # a receiver known only by name, phone and address
            rc = buyer if g.r.random() < 0.3 else g.person(minor=False, email=False, card=False)
            o["receiver"] = person_dict(g, rc, f, b, ["name", "mobile", "addr"])
        elif kind < 0.5:
            # a receiver with only a name and an address: keyed by name+address (issue 4's ladder)
            rc = g.person(minor=False, mobile=False, email=False, card=False)
            o["receiver"] = {f["name"]: rc.name, f["addr"]: rc.addr}
            b.people[id(rc)] = rc
            rc.id = None  # never shown: the person counts, no ID value
        else:
            ps = []
            for _ in range(g.r.randint(1, 4)):
                x = g.r.random()
                if x < 0.25: q = buyer
                elif x < 0.45 and pool: q = g.r.choice(pool)
                else: q = g.person(email=False, card=False, passport=g.r.random() < 0.3, mobile=g.r.random() < 0.5)
                d = person_dict(g, q, f, b, ["name", "id", "passport", "mobile"], numbers=True)
                ps.append(d)
            o["passengers"] = ps
        orders.append(o)
    doc = {"orders": orders} if g.r.random() < 0.6 else {"data": {"result": {"orders": orders}}, "success": True}
    return doc, b, "json_orders"


def json_nested_contact(g):
    """A person object whose contact details sit in a sub-object: one entry (records = people)."""
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    rows = []
    for p in pick_people(g, g.r.randint(3, 20)):
        top = person_dict(g, p, f, b, ["name", "id"])
        top["contact"] = person_dict(g, p, f, b, ["mobile", "email"])
        top["profile"] = {"level": g.r.randint(1, 5), "tags": ["vip"] if g.r.random() < 0.2 else []}
        rows.append(top); b.records += 1
    return rows, b, "json_nested_contact"


def json_family(g):
    """Children registered under a parent's phone: two people, one phone."""
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    rows = []
    for _ in range(g.r.randint(2, 12)):
        parent = g.person(minor=False)
        pd = person_dict(g, parent, f, b, ["name", "id", "mobile"]); b.records += 1  # the registration
        kids = []
        for _ in range(g.r.randint(1, 2)):
            kid = g.person(minor=True, mobile=False, email=False, card=False)
            kd = person_dict(g, kid, f, b, ["name", "id", "birth"])
            if g.r.random() < 0.5:
                kd["guardianPhone"] = g.spell_mobile(parent.mobile)  # the parent's phone, shared
            kids.append(kd)
        pd["children"] = kids
        rows.append(pd)
    return {"registrations": rows}, b, "json_family"


def ndjson(g):
    """Event stream: a sign-up carries everything, later events only the phone or e-mail."""
    b = Body()
    f = FIELDS[g.r.choice(["english_snake", "english_camel", "abbrev", "abbrev2"])]
    lines = []
    seen = []
    for _ in range(g.r.randint(5, 60)):
        if seen and g.r.random() < 0.35:
            p = g.r.choice(seen)
            which = ["mobile"] if (p.mobile and g.r.random() < 0.6) or not p.email else ["email"]
            ev = {"event": g.r.choice(["login", "view", "pay"]), "ts": int(g.ts_ms()),
                  "user": person_dict(g, p, f, b, which)}
        else:
            p = g.person()
            seen.append(p)
            ev = {"event": "signup", "ts": int(g.ts_ms()), "user": person_dict(g, p, f, b, ["name", "id", "mobile", "email", "card"], numbers=True)}
        b.decoys.append(str(ev["ts"]))
        if g.r.random() < 0.3: ev["session"] = g.token()
        lines.append(json.dumps(ev, ensure_ascii=g.r.random() < 0.3)); b.records += 1
    return "\n".join(lines) + ("\n" if g.r.random() < 0.8 else ""), b, "ndjson"


def spreadsheet_cell(g, v):
    x = g.r.random()
    if x < 0.7: return v
    if x < 0.8: return "'" + v
    if x < 0.9: return '="' + v + '"'
    return "\t" + v


def csv_text(rows, delim, quote_all=False):
    out = io.StringIO()
    for row in rows:
        cells = []
        for c in row:
            c = str(c)
            if quote_all or delim in c or '"' in c or "\n" in c or "\r" in c or (delim == "," and c.startswith("\t")):
                c = '"' + c.replace('"', '""') + '"'
            cells.append(c)
        out.write(delim.join(cells) + "\r\n")
    return out.getvalue()


def delimited(g, delim=","):
    """CSV/TSV export; sometimes one row per order with buyer_ and receiver_ columns (two people)."""
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    two = g.r.random() < 0.25
    note_col = g.r.random() < 0.3
    if two and g.r.random() < 0.4:
        # an HR export with numbered emergency contacts: three people a row
        hdr = g.r.choice([["姓名", "手机号", "身份证号", "紧急联系人1", "紧急联系人1电话", "紧急联系人2", "紧急联系人2电话"],
                          ["name", "mobile", "id_no", "contact1_name", "contact1_phone", "contact2_name", "contact2_phone"]])
        rows = [hdr]
        for _ in range(g.r.randint(3, 30)):
            me, c1, c2 = g.person(minor=False), g.person(minor=False, email=False, card=False), g.person(minor=False, email=False, card=False)
            rows.append([me.name, g.spell_mobile(me.mobile), g.spell_id(me.id), c1.name, g.spell_mobile(c1.mobile), c2.name, g.spell_mobile(c2.mobile)])
            b.saw(me, email=False, card=False); b.saw(c1, ident=False); b.saw(c2, ident=False)
            b.records += 1
        return csv_text(rows, delim), b, "csv_two_people" if delim == "," else "tsv_two_people"
    if two:
        hdr = ["order_no", "buyer_name", "buyer_mobile", "buyer_id_card", "receiver_name", "receiver_phone", "receiver_address"]
        rows = [hdr]
        for _ in range(g.r.randint(3, 40)):
            bu, rc = g.person(minor=False), g.person(minor=False)
            oid = g.order_id(); b.decoys.append(oid)
            rows.append([oid, bu.name, spreadsheet_cell(g, g.spell_mobile(bu.mobile)), spreadsheet_cell(g, g.spell_id(bu.id)),
                         rc.name, spreadsheet_cell(g, g.spell_mobile(rc.mobile)), rc.addr])
            b.saw(bu, email=False, card=False); b.saw(rc, ident=False, email=False, card=False)
            b.records += 1
        return csv_text(rows, delim, quote_all=g.r.random() < 0.2), b, "csv_two_people" if delim == "," else "tsv_two_people"
    keys = ["name", "id", "mobile", "email", "card", "addr"]
    hdr = [f[k] for k in keys] + ["created"] + (["remark"] if note_col else [])
    rows = [hdr]
    for p in pick_people(g, g.r.randint(3, 60)):
        cells = [p.name, spreadsheet_cell(g, g.spell_id(p.id)), spreadsheet_cell(g, g.spell_mobile(p.mobile)),
                 g.spell_email(p.email) if p.email else "", spreadsheet_cell(g, g.spell_card(p.card)) if p.card else "",
                 p.addr if g.r.random() < 0.8 else p.addr.replace(" ", "\n", 1)]
        t = g.ts_ms(); b.decoys.append(t); cells.append(t)
        if note_col:
            n = g.r.choice(["", "老客户", "需要发票, 抬头: 个人", "已退款 \"部分\"", "订单号 " + g.order_id(), "多行\n备注"])
            cells.append(n)
        b.saw(p, passport=False); b.records += 1
        rows.append(cells)
    name = "csv" if delim == "," else "tsv"
    return csv_text(rows, delim), b, name


def form(g):
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    if g.r.random() < 0.6:
        p = g.person(minor=False)
        d = person_dict(g, p, f, b, ["name", "id", "mobile", "email", "card", "addr"]); b.records += 1
        d["captcha"] = "%06d" % g.r.randrange(10 ** 6)
        d["agree"] = "on"
        pairs = [(k, str(v)) for k, v in d.items()]
        kind = "form_single"
    else:
        # PHP-style arrays: passengers[0][name]=… one entry per index
        pairs = [("contact_mobile", None)]
        buyer = g.person(minor=False)
        pairs = [("contact[" + f["name"] + "]", buyer.name), ("contact[" + f["mobile"] + "]", g.spell_mobile(buyer.mobile))]
        b.saw(buyer, ident=False, email=False, card=False); b.records += 1
        for i in range(g.r.randint(1, 5)):
            q = g.person(mobile=False, email=False, card=False)
            pairs += [("passengers[%d][%s]" % (i, f["name"]), q.name), ("passengers[%d][%s]" % (i, f["id"]), g.spell_id(q.id))]
            b.saw(q)
        kind = "form_array"  # one form post, one record
    oid = g.order_id(); b.decoys.append(oid); pairs.append(("orderNo", oid))
    return urllib.parse.urlencode(pairs), b, kind


NOTE_ZH = [
    "客户{name}来电，身份证号{id}，手机{mobile}，要求修改收货地址。",
    "{name}（手机：{mobile}，邮箱 {email}）反馈订单{order}未收到，已登记。",
    "回访：{name}，证件号 {id}，银行卡 {card} 退款已处理，时间戳{ts}。",
    "用户{name}通过电话{mobile}申请注销账号，核验身份证{id}无误。",
    "{date} {id} 实名认证通过，绑定手机 {mobile}。",
    "{date} {card} 扣款成功，持卡人{name}。",
]
NOTE_EN = [
    "Customer {name} called from {mobile} about order {order}; e-mail {email}.",
    "Ticket: {name} (ID {id}) asked to update card {card}. Ref {bad}.",
    "Refund requested by {name}, phone {mobile}, email {email}.",
]


def text(g):
    b = Body()
    notes = []
    pool = []
    for _ in range(g.r.randint(2, 25)):
        if pool and g.r.random() < 0.15: p = g.r.choice(pool)
        else: p = g.person(minor=False, email=True, card=True, id15=False); pool.append(p)
        if g.r.random() < 0.2:
            kid = g.person(minor=True, mobile=False, email=False, card=False)
            mob = g.spell_mobile(p.mobile)
            notes.append("家长{0}（电话{1}）为孩子{2}（身份证{3}）报名夏令营。".format(p.name, mob, kid.name, g.spell_id(kid.id)))
            b.saw(p, ident=False, email=False, card=False); b.saw(kid)
            b.records += 1
            continue
        tpl = g.r.choice(NOTE_ZH + NOTE_EN)
        vals = dict(name=p.name, id=g.spell_id(p.id), mobile=g.spell_mobile(p.mobile), email=g.spell_email(p.email),
                    card=g.spell_card(p.card), order=g.order_id(), ts=g.ts_ms(), bad=g.bad_id(),
                    date="2026-11-%02d" % g.r.randint(1, 28))
        for k in ("order", "ts", "bad"):
            if "{" + k + "}" in tpl: b.decoys.append(vals[k])
        if g.r.random() < 0.15:
            for k in ("mobile", "id"): vals[k] = g.fullwidth(vals[k])
        shown = {k: ("{" + k + "}") in tpl for k in ("id", "mobile", "email", "card")}
        b.saw(p, ident=shown["id"], mobile=shown["mobile"], email=shown["email"], card=shown["card"])
        notes.append(tpl.format(**vals)); b.records += 1
        if g.r.random() < 0.15:
            m = g.masked_mobile(g.new_mobile()); b.decoys.append(m)
            notes.append("（系统）尾号验证：%s，流水 %s。" % (m, g.non_mobile11()))
            b.records += 1  # every note is a record, as pii-sample labels them (a note naming no one too)
    sep = "\n" if g.r.random() < 0.7 else "\n\n"
    return sep.join(notes) + "\n", b, "text"


def multipart(g):
    b = Body()
    boundary = "----WebKitFormBoundary" + "".join(g.r.choice(string.ascii_letters + string.digits) for _ in range(16))
    parts = []
    f = FIELDS[g.r.choice(list(FIELDS))]
    p = g.person(minor=False)
    d = person_dict(g, p, f, b, ["name", "mobile", "email"]); b.records += 1
    for k, v in d.items():
        parts.append(('Content-Disposition: form-data; name="%s"' % k, str(v)))
    # a JSON part
    sub = Body()
    doc, sb, _ = json_flat(g)
    parts.append(('Content-Disposition: form-data; name="payload"; filename="users.json"\r\nContent-Type: application/json',
                  json.dumps(doc, ensure_ascii=False)))
    merge(b, sb)
    if g.r.random() < 0.6:
        text_csv, cb, _ = delimited(g, ",")
        ctype = "text/csv"
        if g.r.random() < 0.3:
            ctype = "text/csv; charset=GBK"
            text_csv = RawPart(text_csv.encode("gb18030"))
        parts.append(('Content-Disposition: form-data; name="file"; filename="export.csv"\r\nContent-Type: ' + ctype,
                      text_csv))
        merge(b, cb)
    out = []
    for head, content in parts:
        data = content.data if isinstance(content, RawPart) else content.encode("utf-8")
        out.append(("--" + boundary + "\r\n" + head + "\r\n\r\n").encode() + data + b"\r\n")
    out.append(("--" + boundary + "--\r\n").encode())
    return RawPart(b"".join(out)), b, "multipart", "multipart/form-data; boundary=" + boundary


class RawPart:
    """Bytes already encoded (a GBK part inside a UTF-8 multipart body)."""
    def __init__(self, data): self.data = data


def escape_digits(g, text):
    """Writes some 11- and 18-character digit strings as JSON \\u escapes (legal JSON, as some
    serialisers emit)."""
    import re
    def one(m):
        if g.r.random() < 0.5: return m.group(0)
        return '"' + "".join("\\u%04x" % ord(c) for c in m.group(1)) + '"'
    return re.sub(r'"(1[3-9]\d{9}|\d{17}[\dXx])"', one, text)


def merge(b, other):
    b.records += other.records
    b.people.update(other.people)
    b.minors |= other.minors
    for k, v in other.values.items(): b.values[k] |= v
    b.decoys += other.decoys


def json_two_people(g):
    """Flat order objects with buyer_ and receiver_ keys: two people in one object."""
    b = Body()
    rows = []
    for _ in range(g.r.randint(2, 20)):
        bu, rc = g.person(minor=False), g.person(minor=False, email=False, card=False)
        style = g.r.random()
        if style < 0.5:
            d = {"orderNo": g.order_id(), "buyer_name": bu.name, "buyer_mobile": g.spell_mobile(bu.mobile),
                 "buyer_id_card": g.spell_id(bu.id), "receiver_name": rc.name, "receiver_phone": g.spell_mobile(rc.mobile),
                 "receiver_address": rc.addr}
            b.saw(bu, email=False, card=False); b.saw(rc, ident=False, email=False, card=False)
        else:
            d = {"orderNo": g.order_id(), "name": bu.name, "mobile": g.spell_mobile(bu.mobile), "idNo": g.spell_id(bu.id),
                 "emergencyContactName": rc.name, "emergencyContactPhone": g.spell_mobile(rc.mobile)}
            b.saw(bu, email=False, card=False); b.saw(rc, ident=False, email=False, card=False)
        b.decoys.append(d["orderNo"])
        rows.append(d); b.records += 1
    return rows, b, "json_two_people"


def json_contacts(g):
    """People with several phones, cards or e-mails, an emergency contact in a sub-object, and
    foreigners known by passport and e-mail."""
    b = Body()
    f = FIELDS[g.r.choice(list(FIELDS))]
    rows = []
    for _ in range(g.r.randint(2, 20)):
        x = g.r.random()
        if x < 0.35:
            p = g.person(card=True)
            p2 = g.new_mobile()
            d = person_dict(g, p, f, b, ["name", "id"])
            d["phones"] = [g.spell_mobile(p.mobile), g.spell_mobile(p2)]
            b.values["mobile"].add("+86" + p.mobile); b.values["mobile"].add("+86" + p2)
            c2 = g.new_card()
            d["cards"] = [{"no": g.spell_card(p.card), "bank": "ICBC"}, {"no": g.spell_card(c2), "bank": "CMB"}]
            b.values["bank_card"].add(p.card); b.values["bank_card"].add(c2)
        elif x < 0.7:
            p = g.person(minor=False)
            d = person_dict(g, p, f, b, ["name", "id", "mobile"])
            ec = g.person(minor=False, email=False, card=False)
            d["emergencyContact"] = {"name": ec.name, "relation": g.r.choice(["spouse", "parent", "friend"]),
                                     "phone": g.spell_mobile(ec.mobile)}
            b.saw(ec, ident=False)
        else:
            p = g.person(minor=False, mobile=g.r.random() < 0.3, email=True, card=False, passport=True)
            p.id = None
            d = {"fullName": g.en.name(), "passportNo": p.passport, "nationality": g.r.choice(["US", "GB", "DE", "JP"]),
                 "email": g.spell_email(p.email)}
            if p.mobile: d["mobile"] = g.spell_mobile(p.mobile)
            b.saw(p, ident=False)
        rows.append(d); b.records += 1
    return {"data": {"result": {"list": rows}}}, b, "json_contacts"


WRITERS = [("json_flat", json_flat, 14), ("json_two_people", json_two_people, 4), ("json_contacts", json_contacts, 6), ("json_keyed", json_keyed, 5), ("json_orders", json_orders, 12),
           ("json_nested_contact", json_nested_contact, 6), ("json_family", json_family, 6), ("ndjson", ndjson, 10),
           ("csv", lambda g: delimited(g, ","), 12), ("tsv", lambda g: delimited(g, "\t"), 5), ("form", form, 8),
           ("text", text, 8), ("multipart", multipart, 6)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--bodies", type=int, default=600)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a.seed)
    weights = [w for _, _, w in WRITERS]
    for n in range(a.bodies):
        _indent_choice[0] = g.r.choice([None, None, 2])
        name, fn, _ = g.r.choices(WRITERS, weights)[0]
        res = fn(g)
        obj, b, fmt = res[0], res[1], res[2]
        ctype = {"json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv",
                 "tsv": "text/tab-separated-values", "form": "application/x-www-form-urlencoded",
                 "text": "text/plain", "multipart": None}
        base = fmt.split("_")[0]
        ct = res[3] if len(res) > 3 else ctype[base]
        if isinstance(obj, RawPart): raw_text = None
        elif isinstance(obj, str): raw_text = obj
        else:
            esc = g.r.random() < 0.25
            raw_text = json.dumps(obj, ensure_ascii=esc, indent=g_indent())
            if g.r.random() < 0.15:
                raw_text = escape_digits(g, raw_text); fmt += "+digitescapes"
            if esc: fmt += "+uescape"
        # character set
        charset = "utf-8"
        if raw_text is None:
            data = obj.data
        elif base in ("csv", "tsv", "text", "json") and g.r.random() < 0.2:
            charset = g.r.choice(["gbk", "gb18030"])
            try: data = raw_text.encode(charset)
            except UnicodeEncodeError: charset = "gb18030"; data = raw_text.encode(charset)
            if g.r.random() < 0.5: ct += "; charset=" + ("GBK" if charset == "gbk" else "GB18030")
            else: fmt += "+nocharset"
            fmt += "+" + charset
        else:
            data = raw_text.encode("utf-8")
            if base in ("csv", "tsv") and g.r.random() < 0.3: data = b"\xef\xbb\xbf" + data; fmt += "+bom"
            if g.r.random() < 0.3 and base != "multipart": ct += "; charset=utf-8"
        enc = None
        x = g.r.random()
        if x < 0.12: data = gzip.compress(data, mtime=0); enc = "gzip"
        elif x < 0.18: data = zlib.compress(data); enc = "deflate"
        ext = {"json": "json", "ndjson": "ndjson", "csv": "csv", "tsv": "tsv", "form": "form", "text": "txt", "multipart": "mp"}[base]
        stem = "%06d" % n
        path = os.path.join(a.out, stem + "." + ext + (".gz" if enc == "gzip" else ".deflate" if enc == "deflate" else ""))
        with open(path, "wb") as fh: fh.write(data)
        t = b.truth(format=fmt + ("+" + enc if enc else ""), content_type=ct, content_encoding=enc, bytes=len(data))
        with open(os.path.join(a.out, stem + ".truth.json"), "w") as fh: json.dump(t, fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
