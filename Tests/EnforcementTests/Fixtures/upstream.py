#!/usr/bin/env python3
"""A loopback HTTP/1.1 upstream for end-to-end tests.

Answers every request with 200 and a small JSON body, and appends one JSON line per request it
received *completely* (method, path, body length, sha256) to the journal file, so tests can see
exactly what went out through the gateway. Listens only on the loopback address it is given and
stops by itself after --lifetime seconds. With --cert and --key it speaks TLS.
"""
import argparse, hashlib, http.server, json, socketserver, ssl, sys, threading

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--journal", required=True)
p.add_argument("--lifetime", type=float, default=300)
p.add_argument("--cert")
p.add_argument("--key")
a = p.parse_args()
assert a.host.startswith("127.") or a.host == "::1", "loopback only"
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""
    def _handle(self):
        body = self._body()
        rec = {"method": self.command, "path": self.path, "length": len(body),
               "sha256": hashlib.sha256(body).hexdigest(), "host": self.headers.get("Host")}
        with lock, open(a.journal, "a") as f:
            f.write(json.dumps(rec) + "\n")
        out = json.dumps({"ok": True, "received": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = Server((a.host, a.port), Handler)
if a.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Timer(a.lifetime, srv.shutdown).start()
print("listening", flush=True)
srv.serve_forever()
