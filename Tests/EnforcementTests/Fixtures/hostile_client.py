#!/usr/bin/env python3
"""Sends mutated requests to a gateway on loopback: uploads with people in them, chunked and
pipelined, Expect: 100-continue, CONNECT, garbage; bytes flipped, lines doubled or cut, lengths
wrong, connections dropped early. Only the gateway's survival is the test's business; this prints
how many requests got which first status line (or none) and exits 0.

usage: hostile_client.py PROXY_PORT UPSTREAM_PORT ITERATIONS SEED
"""
import json, random, socket, sys, collections

port, up, iterations, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

def rid(n):
    # Region 120101, which ResidentIDs (the Swift tests' people) never uses: no one here is theirs.
    base = "120101%04d%02d%02d%03d" % (1960 + n % 40, n % 12 + 1, n % 28 + 1, n % 999 + 1)
    return base + "10X98765432"[sum(int(d) * w for d, w in zip(base, W)) % 11]

def body(n):
    return json.dumps([{"name": "P%d" % k, "id_card": rid(n + k), "phone": "1381234%04d" % ((n + k) % 10000)}
                       for k in range(rng.randint(1, 30))]).encode()

def seeds(n):
    b = body(n)
    target = "http://127.0.0.2:%d/up/%d" % (up, n)
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.2:%d\r\nContent-Type: application/json\r\n" % (target, up)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in [b[i:i + 97] for i in range(0, len(b), 97)]) + b"0\r\n\r\n"
    return [
        (head + "Content-Length: %d\r\n\r\n" % len(b)).encode() + b,
        (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked,
        (head + "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(b)).encode() + b,
        ((head + "Content-Length: %d\r\n\r\n" % len(b)).encode() + b) * 2,
        (head + "Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(b)).encode() + b,
        ("GET %s?id_card=%s HTTP/1.1\r\nHost: 127.0.0.2:%d\r\nCookie: phone=13812345678\r\n\r\n" % (target, rid(n), up)).encode(),
        ("CONNECT 127.0.0.2:%d HTTP/1.1\r\nHost: 127.0.0.2:%d\r\n\r\n" % (up, up)).encode() + b[:50],
        (head + "Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(b), len(b) + 1)).encode() + b,
        (head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n").encode() + chunked,
        # Chunk extensions and trailer fields, which carry people of their own.
        (head + "Transfer-Encoding: chunked\r\nTrailer: X-Id-Card\r\n\r\n").encode()
            + chunked.replace(b"\r\n", (";for=%s\r\n" % rid(n + 7)).encode(), 1)[:-2] + ("X-Id-Card: %s\r\n\r\n" % rid(n + 8)).encode(),
    ]

def mutate(data):
    b = bytearray(data)
    for _ in range(rng.randint(0, 4)):
        at = rng.randrange(len(b)) if b else 0
        op = rng.randrange(7)
        if op == 0 and b: b[at] = rng.randrange(256)
        elif op == 1: b[at:at] = rng.choice([b"\r\n", b"\n", b"\r\n\r\n", b":", b" ", b"\x00", b"0\r\n\r\n", b"ffffffffffffffff\r\n"])
        elif op == 2 and b: del b[at:at + rng.randint(1, 40)]
        elif op == 3 and b: b[at:at] = b[at:at + rng.randint(1, 200)]
        elif op == 4: del b[at:]
        elif op == 5: b[at:at] = b"X-Pad: " + b"a" * rng.randint(1, 20000) + b"\r\n"
        else: pass
    return bytes(b)

outcomes = collections.Counter()
for i in range(iterations):
    data = mutate(rng.choice(seeds(i * 40)))
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        if rng.random() < 0.3:
            cut = rng.randrange(len(data) + 1)
            s.sendall(data[:cut]); s.close(); outcomes["hung up"] += 1; continue
        s.sendall(data)
        if rng.random() < 0.8: s.shutdown(socket.SHUT_WR)
        first = s.recv(4096).split(b"\r\n", 1)[0]
        outcomes[first[:12].decode("latin-1") or "closed"] += 1
        s.close()
    except (socket.timeout, TimeoutError):
        outcomes["timeout"] += 1
    except OSError as e:
        outcomes[type(e).__name__] += 1
print(json.dumps(outcomes, sort_keys=True))
