#!/usr/bin/env python3
"""A counting reverse proxy for the benchmark (stdlib only).

Listens on 127.0.0.1:LISTEN_PORT and forwards every request to
127.0.0.1:UPSTREAM_PORT (moto_server). For each POST it appends one line to LOG:

    <Action>\t<milliseconds from request received to response sent>

so the benchmark can count STS calls per run (`grep -c '^GetSessionToken'`) and
know the STS round trip as the client saw it (proxy + moto). Only loopback.

usage: sts_proxy.py LISTEN_PORT UPSTREAM_PORT LOG
"""
import http.client
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN, UPSTREAM, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
_lock = threading.Lock()
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _forward(self):
        t0 = time.perf_counter()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        ms = (time.perf_counter() - t0) * 1000
        if self.command == "POST":
            q = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            action = (q.get("Action") or ["?"])[0]
            with _lock, open(LOG, "a") as f:
                f.write(f"{action}\t{ms:.3f}\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


if __name__ == "__main__":
    open(LOG, "a").close()
    Server(("127.0.0.1", LISTEN), Proxy).serve_forever()
