#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""1,000 random list/close/reuse/kill operations on a few TCP 4-tuples whose
sockets are closed and made again (same addresses and ports, new cookie)
under finwatch's feet, some of them while a kill of the old socket is on
its way. Kills go through finwatchd (finwatch kill, and the raw protocol
with a list's stale identity) and directly (--no-daemon). ss -e is the
oracle: a kill may remove the socket it names by cookie and nothing else;
the wrong socket must be killed zero times.

The test runs itself a second time inside the fixture's network namespace
(--worker) to own the sockets there. FINWATCH_RACE_SEED repeats a run."""
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import fwtest

SERVER_PORT = 9090           # in the fixture's lost-fin range: the server's FIN is dropped
CLIENT_PORTS = range(41000, 41008)
OPS = 1000
MAX_OPS = 3000               # past OPS only until every case below was met often enough
# what a run must have exercised: (name, how many)
COVERAGE = (("kills with a stale cookie", 50), ("kills with a stale cookie whose tuple is in use again", 20),
            ("close/reuse races", 50))


def coverage(c):
    """How often each COVERAGE case came up, from a worker's counts."""
    return {
        "kills with a stale cookie": sum(v for k, v in c.items() if k.startswith("kill") and "stale" in k),
        "kills with a stale cookie whose tuple is in use again":
            sum(v for k, v in c.items() if k.startswith("kill") and "reused" in k),
        "close/reuse races": c.get("race", 0) + c.get("race kill first", 0),
    }


def covered(c):
    got = coverage(c)
    return all(got[name] >= n for name, n in COVERAGE)
MAGIC, VERSION, REQ_KILL_NS, REPLY_KILLED = 0x54435746, 1, 5, 104
FIN_WAIT_1 = 4


def live():
    """cookie -> client port of every FIN_WAIT_1 socket of our server (ss -e)."""
    r = subprocess.run(["ss", "-tanieH", "state", "fin-wait-1", "sport", "=", f":{SERVER_PORT}"],
                       capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        m = re.search(r"sk:([0-9a-f]+)", line)
        f = line.split()
        if m and len(f) >= 4:
            out[int(m.group(1), 16)] = int(f[3].rsplit(":", 1)[1])
    return out


def wait_until(fn, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.002)
    raise RuntimeError(f"timed out: {what}")


class Worker:
    def __init__(self, finwatch, sock, rnd):
        self.finwatch, self.sock, self.rnd = finwatch, sock, rnd
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", SERVER_PORT))
        self.listener.listen(64)
        self.clients = {}        # client port -> (client socket, cookie of the stuck server socket)
        self.snapshot = {}       # client port -> cookie, from the last finwatch list
        self.wrong = 0
        self.counts = {}
        self.problems = []

    def problem(self, what):
        self.problems.append(what)
        print("FAIL:", what, file=sys.stderr)

    def make(self, port):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind(("127.0.0.1", port))
        c.connect(("127.0.0.1", SERVER_PORT))
        s, _ = self.listener.accept()
        s.close()  # its FIN is dropped: FIN_WAIT_1, an orphan
        cookie = wait_until(lambda: next((k for k, p in live().items() if p == port), None),
                            f"socket for port {port} in FIN_WAIT_1")
        return c, cookie

    def close(self, port):
        c, cookie = self.clients.pop(port)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST: the server's socket goes
        wait_until(lambda: cookie not in live(), f"cookie {cookie} gone after RST")

    def list(self):
        daemon = self.rnd.random() < 0.5
        args = [self.finwatch, "--socket", self.sock, "list", "--json"] + ([] if daemon else ["--no-daemon"])
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            self.problem(f"list failed: {r.stderr.strip()}")
            return
        truth = live()
        rows = [o for o in json.loads(r.stdout) if o["local_port"] == SERVER_PORT]
        self.snapshot = {o["peer_port"]: o["cookie"] for o in rows}
        if set(self.snapshot.values()) != set(truth):
            self.problem(f"list shows {sorted(self.snapshot.values())}, ss {sorted(truth)}")

    def raw_kill(self, port, cookie):
        # proto_sock_id_ns: the identity, then the namespace (0: the daemon's own)
        sid = struct.pack("=Q16s16sHHIBB6xII", cookie, socket.inet_aton("127.0.0.1") + bytes(12),
                          socket.inet_aton("127.0.0.1") + bytes(12), SERVER_PORT, port, 0, socket.AF_INET,
                          FIN_WAIT_1, 0, 0)
        msg = struct.pack("=IHHII", MAGIC, VERSION, REQ_KILL_NS, 16 + 8 + len(sid), 0) + struct.pack("=II", 1, 0) + sid
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(10)
            s.connect(self.sock)
            s.send(msg)
            r = s.recv(70000)
        if len(r) < 40 or struct.unpack_from("=IHHII", r)[2] != REPLY_KILLED:
            self.problem(f"raw kill of {cookie}: no kill result ({r[16:].decode(errors='replace')!r})")
            return None
        return struct.unpack_from("=Qi", r, 24)[1] == 0

    def kill(self, port, cookie, how):
        if how == "raw":
            return self.raw_kill(port, cookie)
        args = [self.finwatch, "--socket", self.sock, "kill", "--cookie", str(cookie), "--yes"]
        if how == "no-daemon":
            args.append("--no-daemon")
        r = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return r.returncode == 0 and "killed FIN_WAIT_1" in r.stdout

    def judge(self, before, after, cookie, claimed, what):
        removed = set(before) - set(after)
        wrong = removed - {cookie}
        if wrong:
            self.wrong += len(wrong)
            self.problem(f"{what}: killed cookie(s) {sorted(wrong)} asked for {cookie}")
        if claimed and cookie in after:
            self.problem(f"{what}: claimed to kill {cookie}, still there")
        if claimed is False and cookie in removed:
            self.problem(f"{what}: killed {cookie} but did not say so")
        if cookie in before and not (claimed and cookie in removed):
            self.problem(f"{what}: a live socket was not killed (claimed {claimed})")

    def op_kill(self):
        if not self.snapshot:
            return self.list()
        port, cookie = self.rnd.choice(sorted(self.snapshot.items()))
        how = self.rnd.choice(["raw", "raw", "cli", "no-daemon"])
        before = live()
        claimed = self.kill(port, cookie, how)
        after = live()
        stale = cookie not in before
        # stale and its tuple now held by a new socket: the case that matters most
        kind = ("stale, tuple reused" if port in before.values() else "stale") if stale else "live"
        self.counts[f"kill {how} {kind}"] = self.counts.get(f"kill {how} {kind}", 0) + 1
        self.judge(before, after, cookie, claimed, f"kill {how} of {'stale' if stale else 'live'} {cookie}")
        if stale and claimed:
            self.problem(f"kill {how} of stale {cookie} claimed success")
        if cookie in before and cookie not in after and port in self.clients and self.clients[port][1] == cookie:
            self.clients.pop(port)[0].close()

    def op_race(self):
        """Close and remake a tuple while a kill of its old socket is sent."""
        if not self.clients:
            return
        port = self.rnd.choice(sorted(self.clients))
        old = self.clients[port][1]
        made = {}

        def churn():
            try:
                time.sleep(self.rnd.random() * 0.004)
                self.close(port)
                made["new"] = self.make(port)
            except Exception as e:  # noqa: BLE001 - reported below
                made["error"] = e

        th = threading.Thread(target=churn)
        th.start()
        claimed = self.raw_kill(port, old)
        th.join()
        if "error" in made:
            # the kill won: the RST close found nothing to wait for, or the port was busy
            self.counts["race kill first"] = self.counts.get("race kill first", 0) + 1
            self.clients.pop(port, None)
            return
        self.clients[port] = made["new"]
        new = made["new"][1]
        now = live()
        self.counts["race"] = self.counts.get("race", 0) + 1
        if new not in now:
            self.wrong += 1
            self.problem(f"race on port {port}: the new socket {new} died (kill was for {old}, claimed {claimed})")

    def run(self, ops):
        for port in CLIENT_PORTS:
            self.clients[port] = self.make(port)
        self.list()
        done = 0
        # the mix is random: a seed may bring a case up less often than
        # COVERAGE asks, so go on (bounded) until it has come up enough
        while done < ops or (done < MAX_OPS and not covered(self.counts)):
            done += 1
            r = self.rnd.random()
            closed = [p for p in CLIENT_PORTS if p not in self.clients]
            if r < 0.2:
                self.list()
            elif r < 0.4 and self.clients:
                self.close(self.rnd.choice(sorted(self.clients)))
            elif r < 0.6 and closed:
                p = self.rnd.choice(closed)
                self.clients[p] = self.make(p)
            elif r < 0.85:
                self.op_kill()
            else:
                self.op_race()
        self.counts["operations"] = done
        for c, _ in self.clients.values():
            c.close()


def worker(argv):
    finwatch, sock, seed = argv[0], argv[1], int(argv[2])
    w = Worker(finwatch, sock, random.Random(seed))
    try:
        w.run(OPS)
    except Exception as e:  # noqa: BLE001 - e.g. the listener killed: a finding, not a crash
        w.problem(f"stopped early: {type(e).__name__}: {e}")
    print(json.dumps({"wrong": w.wrong, "problems": w.problems, "counts": w.counts}))
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.exit(worker(sys.argv[2:]))
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    t = fwtest.Failures("race")
    seed = int(os.environ.get("FINWATCH_RACE_SEED") or time.time_ns() % 2**32)
    print(f"seed {seed} (FINWATCH_RACE_SEED={seed} repeats this run)")
    with tempfile.TemporaryDirectory(prefix="finwatch-race-") as work, \
            fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:1"]) as fx:
        sock = os.path.join(work, "control")
        conf = os.path.join(work, "race.conf")
        with open(conf, "w") as f:
            f.write(f"[monitor]\ninterval = 100ms\n[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
        d = fwtest.Daemon(a.finwatchd, conf, fx, work)
        try:
            t.check(fwtest.wait_for(lambda: fx.run(a.finwatch, "--socket", sock, "status").returncode == 0, 20),
                    "finwatchd answers")
            r = fx.run(sys.executable, os.path.abspath(__file__), "--worker", a.finwatch, sock, str(seed),
                       timeout=500)
            sys.stderr.write(r.stderr)
            res = json.loads(r.stdout.splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else None
            t.check(res is not None, f"the worker ran ({r.returncode})")
            if res:
                print("operations:", json.dumps(res["counts"], sort_keys=True))
                t.eq(res["wrong"], 0, "wrong sockets killed")
                t.eq(res["problems"], [], "problems")
                got = coverage(res["counts"])
                for name, n in COVERAGE:
                    t.check(got[name] >= n, f"enough {name} ({got[name]})")
            t.check(d.alive(), "finwatchd still runs")
        finally:
            t.eq(d.stop(), 0, "finwatchd exits cleanly")
    t.done()


if __name__ == "__main__":
    main()
