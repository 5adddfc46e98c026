#!/usr/bin/env python3
"""mock_api: a canned stand-in for the rfq-requester HTTP API, for testing rfqctl alone.

Usage: mock_api.py PORT_FILE LOG_FILE
Listens on 127.0.0.1 (a free port, written to PORT_FILE once serving) and appends one JSON
line per request to LOG_FILE. Stops on SIGTERM.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_OK = "aaa.bbb.ccc"
CREATED = 1760000000000

QUOTES = [
    {"rank": 1, "rfq_id": "rfq-1", "responder_id": "unicorn-3",
     "price": {"amount_minor": 980, "currency": "USD"}, "eta_s": 240,
     "perks": ["free_drinks", "quiet_ride"], "arrival": 7},
    {"rank": 2, "rfq_id": "rfq-1", "responder_id": "unicorn-11",
     "price": {"amount_minor": 1250, "currency": "USD"}, "eta_s": 65, "perks": [],
     "arrival": 3},
    {"rank": 3, "rfq_id": "rfq-1", "responder_id": "unicorn-7",
     "price": {"amount_minor": 123456, "currency": "USD"}, "eta_s": 3725, "perks": [],
     "arrival": 9},
]

polls = {"rfq-1": 0}
log_lock = threading.Lock()


def error(code, message):
    return {"error": {"code": code, "message": message}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def record(self, body):
        entry = {"method": self.command, "path": self.path,
                 "auth": self.headers.get("Authorization"),
                 "content_type": self.headers.get("Content-Type"),
                 "accept": self.headers.get("Accept"), "body": body}
        with log_lock, open(self.server.log_file, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == "Bearer " + TOKEN_OK:
            return True
        self.send_json(401, error("unauthorized", "missing or invalid bearer token"),
                       {"WWW-Authenticate": "Bearer"})
        return False

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        self.record(raw)
        if not self.authorized():
            return
        if urlsplit(self.path).path != "/v1/rfqs":
            return self.send_json(404, error("not_found", "no such resource"))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(400, error("bad_request", "invalid JSON"))
        if body.get("region") == "nowhere":
            return self.send_json(400, error("bad_request", "region has an invalid value"))
        if body.get("region") == "busy":
            return self.send_json(429, error("rate_limited", "quota exhausted"),
                                  {"Retry-After": "3"})
        timeout = body.get("timeout_ms", 2000)
        polls["rfq-1"] = 0
        links = {"self": "/v1/rfqs/rfq-1", "quotes": "/v1/rfqs/rfq-1/quotes",
                 "events": "/v1/rfqs/rfq-1/events"}
        self.send_json(202, {"rfq_id": "rfq-1", "status": "open", "created_ms": CREATED,
                             "deadline_ms": CREATED + timeout,
                             "max_quotes": body.get("max_quotes", 5), "links": links},
                       {"Location": "/v1/rfqs/rfq-1", "Retry-After": "1"})

    def do_GET(self):
        self.record(None)
        if not self.authorized():
            return
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if url.path == "/v1/rfqs":
            q = parse_qs(url.query)
            rfqs = [{"rfq_id": "rfq-2", "status": "open", "created_ms": CREATED + 5000,
                     "deadline_ms": CREATED + 7000, "quote_count": 0,
                     "best_amount_minor": None},
                    {"rfq_id": "rfq-1", "status": "completed", "created_ms": CREATED,
                     "deadline_ms": CREATED + 2000, "quote_count": 3,
                     "best_amount_minor": 980}]
            if "status" in q:
                rfqs = [r for r in rfqs if r["status"] == q["status"][0]]
            return self.send_json(200, {"rfqs": rfqs})
        if len(parts) >= 3 and parts[:2] == ["v1", "rfqs"]:
            rid = parts[2]
            if rid not in ("rfq-1", "rfq-open"):
                return self.send_json(404, error("not_found", "no such rfq"))
            if len(parts) == 3:
                polls[rid] = polls.get(rid, 0) + 1
                status = "open" if polls[rid] < 3 else "completed"
                return self.send_json(200, {"rfq_id": rid, "tenant": "acme", "status": status,
                                            "created_ms": CREATED,
                                            "deadline_ms": CREATED + 2000, "max_quotes": 3,
                                            "quote_count": 3 if status != "open" else 1,
                                            "declines": 1, "best": QUOTES[0]})
            if len(parts) == 4 and parts[3] == "quotes":
                return self.send_json(200, {"rfq_id": rid, "status": "completed",
                                            "quotes": QUOTES})
            if len(parts) == 4 and parts[3] == "events":
                return self.stream(rid)
        self.send_json(404, error("not_found", "no such resource"))

    def stream(self, rid):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def ev(name, obj, eol="\n"):
            data = json.dumps(obj)
            self.wfile.write(f"event: {name}{eol}data: {data}{eol}{eol}".encode())
            self.wfile.flush()

        self.wfile.write(b": ping\n\n")
        for i, q in enumerate(QUOTES[:2]):
            quote = {k: v for k, v in q.items() if k not in ("rank", "arrival")}
            # CRLF line endings on the second event: both must parse
            ev("quote", {"type": "quote", "rfq_id": rid, "tenant": "acme", "count": i + 1,
                         "quote": quote}, "\r\n" if i else "\n")
            time.sleep(0.05)
        if rid == "rfq-open":
            return  # the server goes away before the RFQ closes
        best = {k: v for k, v in QUOTES[0].items() if k not in ("rank", "arrival")}
        ev("completed", {"type": "completed", "rfq_id": rid, "tenant": "acme",
                         "status": "completed", "count": 2, "best": best})
        # keep the connection open: rfqctl must stop by itself after "completed"
        time.sleep(5)


def main():
    port_file, log_file = sys.argv[1], sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log_file = log_file
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
