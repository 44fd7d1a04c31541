#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One user's load on finwatchd's control socket (test_limits.py runs it
under setpriv as an unprivileged uid): N connections at once, each asking
STATUS every INTERVAL seconds once admitted, reconnecting when dropped or
refused, for DURATION seconds. Prints one JSON object: how many were
admitted at most at once, what refusals said, how a first answer that was
no answer looked, and how long each admitted connection lived before the
daemon closed it.

    limits_client.py SOCKET N DURATION [INTERVAL]
"""
import errno
import json
import random
import selectors
import socket
import struct
import sys
import time

MAGIC, VERSION = 0x54435746, 1
REQ_STATUS = 2
REPLY_ERROR, REPLY_STATUS = 100, 103
STATUS_REQ = struct.pack("=IHHII", MAGIC, VERSION, REQ_STATUS, 16, 0)
RETRY_REFUSED = 1.0      # s (+ up to 0.5 s of jitter): the daemon says "try again"
RETRY_CLOSED = 0.5       # s after the daemon closed an admitted connection


class Slot:
    def __init__(self, start):
        self.sock = None
        self.retry_at = start
        self.admitted = False
        self.connected_at = 0.0
        self.awaiting = False   # a request is out, its answer not read
        self.asked_at = 0.0
        self.next_send = 0.0


def main():
    path, n, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
    rnd = random.Random()
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    end = t0 + duration
    # all at once at the start, 5 ms apart
    slots = [Slot(t0 + i * 0.005) for i in range(n)]
    out = {"connects": 0, "connect_errors": {}, "admitted_total": 0, "max_admitted": 0, "refusals": {},
           "refusal_errnos": {}, "bare_refusals": {}, "lifetimes": [], "errors_while_admitted": {},
           "answers": 0, "slowest_answer": 0.0, "open_at_end": []}
    admitted = 0

    def bump(d, k):
        d[str(k)] = d.get(str(k), 0) + 1

    def drop(s, now, retry):
        nonlocal admitted
        sel.unregister(s.sock)
        s.sock.close()
        s.sock = None
        if s.admitted:
            admitted -= 1
        s.admitted = False
        s.awaiting = False
        s.retry_at = now + retry

    def ask(s, now):
        try:
            s.sock.send(STATUS_REQ)
        except OSError as e:
            return e.errno
        s.awaiting = True
        s.asked_at = now
        return 0

    def closed_by_daemon(s, now, how):
        if s.admitted:
            out["lifetimes"].append(round(now - s.connected_at, 3))
        else:
            bump(out["bare_refusals"], how)  # a refusal that was not an answer
        drop(s, now, RETRY_CLOSED if s.admitted else RETRY_REFUSED)

    while True:
        now = time.monotonic()
        if now >= end:
            break
        for s in slots:
            if s.sock is None and now >= s.retry_at:
                sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                sk.settimeout(2)
                try:
                    sk.connect(path)
                except OSError as e:
                    sk.close()
                    bump(out["connect_errors"], errno.errorcode.get(e.errno, e.errno) if e.errno else "timeout")
                    s.retry_at = now + RETRY_REFUSED
                    continue
                sk.setblocking(False)
                out["connects"] += 1
                s.sock = sk
                s.connected_at = now
                sel.register(sk, selectors.EVENT_READ, s)
                err = ask(s, now)
                if err:
                    closed_by_daemon(s, now, errno.errorcode.get(err, err))
            elif s.admitted and not s.awaiting and now >= s.next_send:
                err = ask(s, now)
                if err:
                    closed_by_daemon(s, now, errno.errorcode.get(err, err))

        # Closes first, then admissions: the daemon frees a slot before it
        # admits the next one, and both may be read in one turn.
        events = []
        for key, _ in sel.select(timeout=0.02):
            s = key.data
            try:
                data = s.sock.recv(70000)
            except BlockingIOError:
                continue
            except OSError as e:
                events.append((0, s, None, errno.errorcode.get(e.errno, e.errno)))
                continue
            events.append((0 if not data else 1, s, data, "EOF"))
        now = time.monotonic()
        for _, s, data, how in sorted(events, key=lambda e: e[0]):
            if not data:
                closed_by_daemon(s, now, how)
                continue
            typ = struct.unpack_from("=IHHII", data)[2] if len(data) >= 16 else None
            if s.awaiting:
                out["slowest_answer"] = max(out["slowest_answer"], round(now - s.asked_at, 3))
            s.awaiting = False
            if typ == REPLY_STATUS:
                out["answers"] += 1
                if not s.admitted:
                    s.admitted = True
                    admitted += 1
                    out["admitted_total"] += 1
                    out["max_admitted"] = max(out["max_admitted"], admitted)
                s.next_send = now + interval
            elif typ == REPLY_ERROR:
                err, _, text = struct.unpack_from("=iI248s", data, 16)
                text = text.split(b"\0")[0].decode(errors="replace")
                if s.admitted:
                    bump(out["errors_while_admitted"], text)
                    drop(s, now, RETRY_CLOSED)
                else:
                    bump(out["refusals"], text)
                    bump(out["refusal_errnos"], -err)
                    drop(s, now, RETRY_REFUSED + rnd.random() * 0.5)
            else:
                bump(out["errors_while_admitted" if s.admitted else "bare_refusals"], f"reply type {typ}")
                drop(s, now, RETRY_REFUSED)

    now = time.monotonic()
    for s in slots:
        if s.sock is not None:
            if s.admitted:
                out["open_at_end"].append(round(now - s.connected_at, 3))
            s.sock.close()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
