#!/usr/bin/env python3
"""A responder for rfq-engine in plain Python: no NATS library, only the NATS text protocol
over a TCP socket, as described in docs/protocol.md. It quotes a flat price for every RFQ of
one region and prints each PubAck. For brevity it does not re-send a quote whose PubAck
never arrives (see "Publish with an acknowledgement").

It logs in as the NATS user `responder` (deploy/nats/rfq-nats.conf), which may receive
replies only on inboxes under `_INBOX_responder.`. Give the URL with the user and password in
the environment (a command line is visible to every local user in `ps`):

    RFQ_NATS_URL=nats://responder:<password>@127.0.0.1:4222 \\
        python3 docs/examples/responder.py --region eu-west --id my-responder

(--url does the same as RFQ_NATS_URL.) Stop it with Ctrl-C.
"""
import argparse
import json
import os
import socket
import time
from urllib.parse import unquote, urlsplit


def now_ms():
    return int(time.time() * 1000)


def header_block(headers):
    """NATS/1.0 header block: status line, one "Name: value" line per header, empty line."""
    lines = ["NATS/1.0"] + ["%s: %s" % kv for kv in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_headers(block):
    headers = {}
    for line in block.decode().split("\r\n")[1:]:
        if ": " in line:
            name, value = line.split(": ", 1)
            headers[name] = value
    return headers


def parse_url(url):
    """nats://[user:password@]host:port -> host, port, user, password (None when absent)."""
    u = urlsplit(url if "://" in url else "nats://" + url)
    user = unquote(u.username) if u.username else None
    password = unquote(u.password) if u.password is not None else None
    return u.hostname or "127.0.0.1", u.port or 4222, user, password


def redact(url):
    """The URL without its password, fit to print."""
    u = urlsplit(url if "://" in url else "nats://" + url)
    if u.password is None:
        return url
    return url.replace(":%s@" % u.password, ":***@", 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("RFQ_NATS_URL", "nats://127.0.0.1:4222"),
                    help="nats://user:password@host:port (default: $RFQ_NATS_URL)")
    ap.add_argument("--inbox-prefix", default="_INBOX_responder",
                    help="inbox prefix the NATS user may subscribe to (default: %(default)s)")
    ap.add_argument("--region", default="eu-west")
    ap.add_argument("--id", default="my-responder", help="responder id, [A-Za-z0-9_-]{1,64}")
    ap.add_argument("--price", type=int, default=1500, help="flat price in minor units")
    args = ap.parse_args()

    host, port, user, password = parse_url(args.url)
    sock = socket.create_connection((host, port))
    rd = sock.makefile("rb")
    info = rd.readline()  # INFO {...}: the server must support headers
    if b'"headers":true' not in info:
        raise SystemExit("this NATS server does not support headers")
    connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
               "name": args.id, "lang": "python-raw", "version": "1"}
    if user is not None:  # the server asks for it: "auth_required":true in INFO
        connect["user"], connect["pass"] = user, password or ""
    inbox_sub = "%s.%s.*" % (args.inbox_prefix, args.id)  # our PubAcks
    sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
    sock.sendall(b"SUB rfq.v1.req.%s.> 1\r\n" % args.region.encode())  # RFQs of the region
    sock.sendall(b"SUB %s 2\r\n" % inbox_sub.encode())
    sock.sendall(b"PING\r\n")
    # The PONG says the server accepted the login and processed the SUBs before it. A refused
    # login is answered with -ERR 'Authorization Violation' and the connection closes; a
    # refused SUB with -ERR 'Permissions Violation for Subscription to "..."'.
    while True:
        line = rd.readline()
        if not line:
            raise SystemExit("connection closed by %s" % redact(args.url))
        if line.startswith(b"-ERR"):
            raise SystemExit("refused by %s: %s" % (redact(args.url), line.decode().strip()))
        if line.startswith(b"PONG"):
            break
    print("listening on rfq.v1.req.%s.> as %s, PubAcks on %s"
          % (args.region, args.id, inbox_sub), flush=True)

    sent = 0
    while True:
        line = rd.readline()
        if not line:
            raise SystemExit("connection closed")
        words = line.decode().split()
        if not words:
            continue
        if words[0] == "PING":
            sock.sendall(b"PONG\r\n")
        elif words[0] == "-ERR":  # e.g. a permissions violation: the message went nowhere
            print("server error:", line.decode().strip(), flush=True)
        elif words[0] == "MSG":  # MSG <subject> <sid> <len>: a PubAck on our inbox
            data = rd.read(int(words[-1]) + 2)[:-2]
            print("PubAck", data.decode(), flush=True)
        elif words[0] == "HMSG":  # HMSG <subject> <sid> [reply] <hdr len> <total len>
            reply = words[3] if len(words) == 6 else None
            hdr_len, total = int(words[-2]), int(words[-1])
            raw = rd.read(total + 2)[:-2]
            if words[2] == "2":  # a status on our inbox, e.g. 503: no stream, not stored
                print("no PubAck:", raw[:hdr_len].decode().split("\r\n")[0], flush=True)
                continue
            headers, body = parse_headers(raw[:hdr_len]), raw[hdr_len:]
            try:
                rfq = json.loads(body)
                rfq_id, currency, deadline = rfq["rfq_id"], rfq["currency"], rfq["deadline_ms"]
            except (ValueError, KeyError, TypeError):
                continue  # not an RFQ we understand: drop it
            if not reply or not reply.startswith("rfq.v1.quote.") or deadline <= now_ms():
                continue  # no usable return address, or too late to answer
            quote = {"rfq_id": rfq_id, "responder_id": args.id,
                     "price": {"amount_minor": args.price, "currency": currency},
                     "eta_s": 300, "perks": ["wifi"], "valid_until_ms": deadline + 300000}
            payload = json.dumps(quote, separators=(",", ":")).encode()
            hdrs = header_block({"Rfq-Id": headers.get("Rfq-Id", rfq_id),
                                 "Rfq-Tenant": headers.get("Rfq-Tenant", rfq.get("tenant", "")),
                                 "Rfq-Responder": args.id,
                                 "Nats-Msg-Id": "%s.%s" % (rfq_id, args.id)})
            sent += 1
            inbox = "%s.%s.%d" % (args.inbox_prefix, args.id, sent)
            # Publish to the opaque reply subject, asking for the stream's PubAck on our inbox.
            sock.sendall(("HPUB %s %s %d %d\r\n" % (reply, inbox, len(hdrs),
                                                     len(hdrs) + len(payload))).encode()
                         + hdrs + payload + b"\r\n")
            print("quoted", rfq_id, "for", headers.get("Rfq-Tenant"), flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
