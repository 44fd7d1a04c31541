#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""finwatch list/status/kill through finwatchd's control socket, the
fallback without a daemon, the auto-kill policy, and abuse of the control
socket. Real kernel, sockets made stuck in private network namespaces."""
import errno
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import fwtest

KILLED = "176cef42821a44f49b664d8769c52f27"
DEFERRED = "840d2535a81d4912bc9b3ea265f0b2bf"

MAGIC, VERSION = 0x54435746, 1
REQ_LIST, REQ_STATUS, REQ_KILL, REQ_KILL_NS = 1, 2, 3, 5
REPLY_ERROR, REPLY_TRACKED, REPLY_END, REPLY_STATUS, REPLY_KILLED = 100, 101, 102, 103, 104


def write_conf(path, **sections):
    with open(path, "w") as f:
        for section, keys in sections.items():
            f.write(f"[{section}]\n")
            for k, v in keys.items():
                f.write(f"{k} = {v}\n")


class Env:
    """finwatchd (fwtest.Daemon) in a fixture's namespace, and the CLI talking to it."""

    def __init__(self, a, work, fx, conf, journal=None):
        self.a, self.work, self.fx, self.conf, self.journal = a, work, fx, conf, journal
        self.sock = os.path.join(work, "control")
        self.daemon = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=journal)
        self.proc = self.daemon.proc
        ok = fwtest.wait_for(lambda: self.cli("status").returncode == 0, 15)
        if not ok:
            self.stop()
            raise RuntimeError("finwatchd did not answer: " + self.daemon.stderr())

    def cli(self, *args, user=None, stdin=None):
        cmd = [self.a.finwatch, "--socket", self.sock, *args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]  # numeric ids
        return self.fx.run(*cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL)

    def list(self, *args):
        r = self.cli("list", "--json", *args)
        if r.returncode != 0:
            raise RuntimeError(f"list failed: {r.stderr}")
        return json.loads(r.stdout)

    def stop(self):
        return self.daemon.stop()

    def raw(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(10)
        s.connect(self.sock)
        return s


def header(type_, payload_len, version=VERSION, magic=MAGIC):
    return struct.pack("=IHHII", magic, version, type_, 16 + payload_len, 0)


def reply_type(data):
    return struct.unpack_from("=IHHII", data)[2] if len(data) >= 16 else None


def key(o):
    return (o["state"], o["local_address"], o["local_port"], o["peer_address"], o["peer_port"])


def ss_states(fx, *states):
    return fwtest.ss_sockets(fx, states)


def established(fx):
    """The fixture's ESTABLISHED noise (port 9300), both ends: peers of stuck
    sockets are ESTABLISHED too, until a kill resets them."""
    r = fx.run("ss", "-tanH", "state", "established", "( sport = :9300 or dport = :9300 )", check=True)
    return len([l for l in r.stdout.splitlines() if l.strip()])


def test_list_and_status(t, env):
    first = env.list()
    t.check(len(first) == 6, f"6 stuck sockets listed ({len(first)})")
    t.check(all(o["age_seconds"] is not None and o["first_seen"] and o["alerted"] is not None for o in first),
            "ages, first_seen and alerted from the daemon")
    time.sleep(1.2)
    second = {o["cookie"]: o for o in env.list()}
    t.check(all(second[o["cookie"]]["age_seconds"] >= o["age_seconds"] + 1.0 for o in first if o["cookie"] in second),
            "ages grow between two calls")
    table = env.cli("list")
    t.check(table.returncode == 0 and "Age" in table.stdout.splitlines()[0] and "Alerted" in table.stdout,
            "table has Age and Alerted")
    t.eq(table.stderr, "", "no fallback note while the daemon answers")
    old = env.list("--older-than", "1s")
    t.eq(len(old), 6, "--older-than 1s keeps them all")
    t.eq(env.list("--older-than", "1h"), [], "--older-than 1h keeps none")

    st = env.cli("status", "--json")
    t.eq(st.returncode, 0, "status --json exit")
    s = json.loads(st.stdout)
    for f in ("version", "uptime_seconds", "config", "interval_seconds", "last_poll_seconds", "tracked",
              "tracked_by_state", "alerts_sent", "kills_ok", "kills_failed", "destroy_supported"):
        t.check(f in s, f"status has {f}")
    t.eq(s.get("tracked"), 6, "status: tracked")
    t.eq(s.get("config"), env.conf, "status: config path")
    t.eq(s.get("destroy_supported"), True, "status: SOCK_DESTROY supported")
    t.eq(s.get("interval_seconds"), 0.2, "status: interval")
    plain = env.cli("status")
    t.check(plain.returncode == 0 and "tracked:" in plain.stdout and "SOCK_DESTROY: supported" in plain.stdout,
            "status table")


def test_kill(t, env):
    fx, a = env.fx, env.a
    est = established(fx)
    t.eq(est, 6, "3 ESTABLISHED pairs of noise")

    # a non-root client is refused and nothing is killed
    before = ss_states(fx, "fin-wait-1", "last-ack")
    r = env.cli("kill", "--state", "fin-wait-1,last-ack", "--yes", user=65534)
    t.eq(r.returncode, 1, "non-root kill: exit 1")
    t.check("permission denied" in r.stderr, f"non-root kill: permission denied ({r.stderr.strip()!r})")
    t.eq(ss_states(fx, "fin-wait-1", "last-ack"), before, "non-root kill killed nothing")
    # read-only requests are open to anyone
    t.eq(env.cli("list", user=65534).returncode, 0, "non-root list works")

    # without a terminal and without --yes: refused
    r = env.cli("kill", "--state", "last-ack")
    t.eq(r.returncode, 2, "no --yes without a terminal: exit 2")
    t.eq(ss_states(fx, "fin-wait-1", "last-ack"), before, "nothing killed without --yes")

    # dry run
    r = env.cli("kill", "--state", "last-ack", "--dry-run")
    t.eq(r.returncode, 0, "dry run exit")
    t.eq(len([l for l in r.stdout.splitlines() if l.startswith("would kill LAST_ACK")]), 3, "dry run lists the 3")
    t.eq(ss_states(fx, "fin-wait-1", "last-ack"), before, "dry run killed nothing")

    # nothing matches: exit 0 and a note
    r = env.cli("kill", "--cookie", "999999999999", "--yes")
    t.eq((r.returncode, r.stdout), (0, ""), "stale cookie: exit 0, nothing done")
    t.check("no stuck socket matches" in r.stderr, "stale cookie: a note")
    t.eq(ss_states(fx, "fin-wait-1", "last-ack"), before, "stale cookie killed nothing")

    # by cookie
    listed = env.list()
    victim = next(o for o in listed if o["state"] == "LAST_ACK")
    r = env.cli("kill", "--cookie", str(victim["cookie"]), "--yes")
    t.eq(r.returncode, 0, "kill by cookie exit")
    t.check(r.stdout.startswith("killed LAST_ACK"), f"kill by cookie result line {r.stdout!r}")
    t.eq(len(ss_states(fx, "fin-wait-1", "last-ack")), len(before) - 1, "kill by cookie: one fewer in ss")

    # by peer (the IPv6 ones)
    r = env.cli("kill", "--peer", "::1", "--yes")
    t.eq(r.returncode, 0, "kill by peer exit")
    t.eq(len(r.stdout.splitlines()), 2, f"kill by peer: 2 result lines ({r.stdout!r})")
    t.check(all("[::1]" not in f"{s[1]}" for s in ss_states(fx, "fin-wait-1", "last-ack")), "IPv6 ones gone")

    # by age
    r = env.cli("kill", "--older-than", "1h", "--yes")
    t.eq(r.returncode, 0, "kill --older-than 1h: nothing matches, exit 0")
    r = env.cli("kill", "--older-than", "1s", "--state", "last-ack", "--yes")
    t.eq(r.returncode, 0, "kill by age exit")
    t.check(r.stdout.startswith("killed LAST_ACK"), f"kill by age killed the LAST_ACK one: {r.stdout!r}")

    # a FIN_WAIT_1 kill sends the peer a RST
    helper = subprocess.Popen(["nsenter", f"--net=/proc/{fx.pid}/ns/net", "--", "python3", a.peer_reset],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = helper.stdout.readline().split()
        t.eq(line[:1], ["READY"], "peer helper ready")
        r = env.cli("kill", "--local", line[1], "--no-daemon", "--yes")
        t.eq(r.returncode, 0, f"kill --local {line[1]} --no-daemon: {r.stderr.strip()}")
        helper.stdin.write("go\n")
        helper.stdin.flush()
        t.eq(helper.stdout.readline().strip(), "ECONNRESET", "the killed FIN_WAIT_1 socket's peer reads ECONNRESET")
    finally:
        fwtest.stop_process(helper)

    # every closing state, everything: ESTABLISHED survives
    r = env.cli("kill", "--state", "fin-wait-1,last-ack,closing,fin-wait-2,close-wait", "--yes")
    t.eq(r.returncode, 0, f"kill everything closing: {r.stderr.strip()}")
    t.eq(ss_states(fx, "fin-wait-1", "last-ack"), set(), "no stuck socket left")
    t.eq(established(fx), est, "ESTABLISHED sockets survive")

    st = json.loads(env.cli("status", "--json").stdout)
    t.check(st["kills_ok"] >= 5, f"status counts the kills ({st['kills_ok']})")


def test_kill_journal(t, env):
    recs = env.journal.records(f"_PID={env.proc.pid}", f"MESSAGE_ID={KILLED}")
    t.check(len(recs) >= 5, f"one journald record per kill ({len(recs)})")
    for r in recs:
        for f in ("FINWATCH_KILL_RESULT", "FINWATCH_KILL_ORIGIN", "FINWATCH_REQUESTER_UID", "FINWATCH_REQUESTER_PID",
                  "FINWATCH_STATE", "FINWATCH_LOCAL", "FINWATCH_PEER", "FINWATCH_COOKIE"):
            t.check(f in r, f"kill record has {f}")
        t.eq(r.get("FINWATCH_KILL_ORIGIN"), "manual", "kill record origin")
        t.eq(r.get("FINWATCH_REQUESTER_UID"), "0", "kill record requester uid")


def test_fallback(t, env):
    t.eq(env.stop(), 0, "daemon stops")
    r = env.cli("list", "--json")
    t.eq(r.returncode, 0, "fallback list exit 0")
    t.eq(len(r.stderr.splitlines()), 1, "fallback: one line on stderr")
    t.check("no finwatchd answers" in r.stderr, f"fallback says so: {r.stderr.strip()!r}")
    rows = json.loads(r.stdout)
    # the kernel's ages only: its estimate or lower bound, or none
    t.check(rows and all(o["alerted"] is None and o["first_seen"] is None and o["age_source"] in (None, "kernel")
                         and (o["age_seconds"] is None) == (o["age_source"] is None) for o in rows),
            "fallback: alerted and first_seen null, ages the kernel's")
    r = env.cli("list")
    t.check(all(l.split()[7] == "-" or l.split()[7][0] in "~>" for l in r.stdout.splitlines()[1:]),
            "fallback table: Age '-' or the kernel's (~, >)")
    r = env.cli("list", "--no-daemon")
    t.eq(r.stderr, "", "--no-daemon: no note")
    r = env.cli("list", "--older-than", "1s", "--json", "--no-daemon")
    t.eq(r.returncode, 0, "--older-than without a daemon: the kernel's lower bounds")
    old = json.loads(r.stdout) if r.returncode == 0 else []
    t.check(all(o["age_min_seconds"] >= 1 for o in old), "--older-than 1s: lower bounds of 1 s or more")
    # lower bounds only grow: what was past 1 s before still is
    t.check({o["cookie"] for o in rows if o["age_min_seconds"] is not None and o["age_min_seconds"] >= 1}
            <= {o["cookie"] for o in old}, "--older-than 1s: what the lower bounds say")
    r = env.cli("status")
    t.eq(r.returncode, 1, "status without a daemon: exit 1")


def test_autokill(t, a, work, jd):
    conf = os.path.join(work, "auto.conf")
    write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1h"},
               kill={"auto": "yes", "after": "2s", "max_per_minute": 3, "exclude_ports": "9100",
                     "exclude_peers": "10.0.0.0/8"},
               daemon={"state_file": "", "control_socket": os.path.join(work, "control")})
    makes = ["lost-fin:fin-wait-1:orphan:4:5", "zero-window:last-ack:owned:4:1"]
    with fwtest.Fixture(a.fixture, makes, established=2) as fx:
        env = Env(a, work, fx, conf, journal=jd)
        try:
            time.sleep(1)
            t.eq(len(ss_states(fx, "fin-wait-1", "last-ack")), 6, "nothing killed before the threshold")
            ok = fwtest.wait_for(lambda: len(ss_states(fx, "fin-wait-1", "last-ack")) == 3, 10)
            t.check(ok, "auto-kill: 3 killed after the threshold (the budget)")
            time.sleep(1.5)
            left = ss_states(fx, "fin-wait-1", "last-ack")
            t.eq(len(left), 3, "the budget holds the rest until the next minute")
            t.check(any(":9100" in l for _, l, _ in left), "the excluded port survives")
            recs = jd.records(f"_PID={env.proc.pid}", f"MESSAGE_ID={KILLED}")
            t.eq(len(recs), 3, "one record per automatic kill")
            t.check(all(r.get("FINWATCH_KILL_ORIGIN") == "auto" and r.get("FINWATCH_KILL_RESULT") == "killed"
                        for r in recs), "auto kill records")
            deferred = jd.records(f"_PID={env.proc.pid}", f"MESSAGE_ID={DEFERRED}")
            t.eq(len(deferred), 1, "one 'budget reached' record")
            if deferred:
                t.eq(deferred[0].get("FINWATCH_DEFERRED"), "2", "two wait for the next minute")
        finally:
            env.stop()

    # dry-run kills nothing but records
    write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1h"},
               kill={"auto": "dry-run", "after": "1s"},
               daemon={"state_file": "", "control_socket": os.path.join(work, "control")})
    with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:2"]) as fx:
        env = Env(a, work, fx, conf, journal=jd)
        try:
            recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
                jd.records(f"_PID={env.proc.pid}", f"MESSAGE_ID={KILLED}")), 10) or []
            time.sleep(1)
            recs = jd.records(f"_PID={env.proc.pid}", f"MESSAGE_ID={KILLED}")
            t.eq(len(recs), 2, "dry-run: one record per would-be kill, once")
            t.check(all(r.get("FINWATCH_KILL_RESULT") == "dry-run" for r in recs), "dry-run records say so")
            t.eq(len(ss_states(fx, "fin-wait-1", "last-ack")), 2, "dry-run killed nothing")
        finally:
            env.stop()


def test_abuse(t, a, work):
    conf = os.path.join(work, "abuse.conf")
    write_conf(conf, monitor={"interval": "200ms"}, daemon={"state_file": "", "control_socket": os.path.join(work, "control")})
    # 2500 sockets: a LIST reply spans several messages, so a client that
    # leaves right after asking leaves mid-reply
    with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:2500"], extra=["--quiet"]) as fx:
        env = Env(a, work, fx, conf)
        try:
            def ask(data):
                with env.raw() as s:
                    s.send(data)
                    return s.recv(70000)

            r = ask(header(REQ_STATUS, 0, version=2))
            t.eq(reply_type(r), REPLY_ERROR, "wrong version: an error reply")
            t.check(b"unsupported protocol version" in r, "wrong version: says so")
            t.eq(reply_type(ask(header(REQ_STATUS, 0)[:10])), REPLY_ERROR, "truncated header: error")
            t.eq(reply_type(ask(header(REQ_STATUS, 4) + b"abcd")), REPLY_ERROR, "payload where none belongs: error")
            t.eq(reply_type(ask(header(REQ_STATUS, 0, magic=0x1234))), REPLY_ERROR, "wrong magic: error")
            t.eq(reply_type(ask(b"\0" * 100000)), REPLY_ERROR, "oversized request: error")
            t.check(b"too large" in ask(b"x" * 70000), "oversized request: says so")
            t.eq(reply_type(ask(header(REQ_KILL_NS, 8) + struct.pack("=II", 0, 0))), REPLY_ERROR,
                 "kill of 0 sockets: error")
            t.eq(reply_type(ask(header(REQ_KILL_NS, 8 + 64) + struct.pack("=II", 5, 0) + b"\0" * 64)), REPLY_ERROR,
                 "kill count beyond the payload: error")
            rnd = random.Random(7)
            for i in range(200):
                ask(bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 300))))
            # a kill by raw protocol with a stale cookie: ENOENT, nothing killed
            o = env.list()[0]
            sid = struct.pack("=Q16s16sHHIBB6xII", o["cookie"] + 10**9,
                              socket.inet_aton(o["local_address"]) + bytes(12),
                              socket.inet_aton(o["peer_address"]) + bytes(12), o["local_port"], o["peer_port"], 0,
                              socket.AF_INET, 4, 0, 0)
            r = ask(header(REQ_KILL_NS, 8 + 64) + struct.pack("=II", 1, 0) + sid)
            t.eq(reply_type(r), REPLY_KILLED, "raw kill: a result")
            if reply_type(r) == REPLY_KILLED:
                cookie, err = struct.unpack_from("=Qi", r, 16 + 8)
                t.eq(err, -2, "raw kill with a stale cookie: -ENOENT")
            t.eq(len(ss_states(fx, "fin-wait-1")), 2500, "stale cookie killed nothing")

            # silent clients, clients that leave mid-reply, 200 at once
            silent = [env.raw() for _ in range(5)]
            for _ in range(20):
                with env.raw() as s:
                    s.send(header(REQ_LIST, 0))  # and leave before reading
            crowd = []
            for _ in range(200):
                try:
                    crowd.append(env.raw())
                except OSError:
                    pass
            answered = refused = 0
            for s in crowd:
                try:
                    s.send(header(REQ_STATUS, 0))
                    typ = reply_type(s.recv(70000))
                    answered += typ == REPLY_STATUS
                    refused += typ == REPLY_ERROR
                except OSError:
                    refused += 1
            t.eq(answered + refused, len(crowd), "every one of 200 clients answered or refused cleanly")
            t.check(answered >= 50, f"the daemon served what it could ({answered} served, {refused} refused)")
            for s in crowd + silent:
                s.close()
            t.eq(env.cli("status").returncode, 0, "still serving after the abuse")
            t.eq(len(env.list()), 2500, "list still complete after the abuse")
            with env.raw() as s:
                s.send(header(REQ_LIST, 0))
                types = []
                while not types or types[-1] not in (REPLY_END, REPLY_ERROR):
                    types.append(reply_type(s.recv(70000)))
            t.check(types.count(REPLY_TRACKED) >= 2, f"a 2500-socket LIST spans several messages ({types})")

            # descriptors passed along (SCM_RIGHTS) are closed on every path:
            # an empty packet, a request that takes none, more than fit
            def daemon_fds():
                return len(os.listdir(f"/proc/{env.daemon.pid}/fd"))

            fds_before = daemon_fds()
            with open("/dev/null") as devnull:
                for _ in range(20):
                    with env.raw() as s:
                        socket.send_fds(s, [b""], [devnull.fileno()] * 10)
                    with env.raw() as s:
                        socket.send_fds(s, [header(REQ_STATUS, 0)], [devnull.fileno()] * 10)
                        s.recv(70000)
                with env.raw() as s:
                    socket.send_fds(s, [header(REQ_STATUS, 0)], [devnull.fileno()] * 250)
                    r = s.recv(70000)
                    t.eq(reply_type(r), REPLY_STATUS, "a request with 250 descriptors along: answered")
                over = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                over.settimeout(10)
                over.connect(env.sock)
                try:
                    socket.send_fds(over, [header(REQ_STATUS, 0)], [devnull.fileno()] * 300)
                    r = over.recv(70000)
                    t.check(reply_type(r) == REPLY_ERROR and b"too many file descriptors" in r,
                            f"300 descriptors: refused in words ({r[24:100]!r})")
                except OSError as e:  # the kernel's own limit (SCM_MAX_FD) may refuse the send
                    t.eq(e.errno, errno.EINVAL, f"300 descriptors: the kernel refuses to send them ({e})")
                finally:
                    over.close()
            time.sleep(0.5)
            # at most as many as before (a client of before may have left since): 20 x 10 leaked would show
            t.check(daemon_fds() <= fds_before,
                    f"no descriptor of theirs stays open in the daemon ({daemon_fds()} open, {fds_before} before)")
            t.check(env.proc.poll() is None, "daemon alive")
        finally:
            env.stop()


class OldDaemon(fwtest.Listener):
    """What finwatchd 0.1 answers on its control socket, replayed: LIST gets
    an empty table, a request type it does not know (KILL_NS, 5) gets
    ERROR -EBADMSG "malformed request" and the connection closed, as 0.1's
    control.c did. For the newer CLI meeting an older daemon."""

    def __init__(self, path, answer=None):
        self.answer = answer  # type -> reply bytes, instead of 0.1's "malformed request"
        self.asked = []
        super().__init__(path, socket.SOCK_SEQPACKET)

    @staticmethod
    def error(errno_, text):
        payload = struct.pack("=iI248s", -errno_, 0, text.encode())
        return header(REPLY_ERROR, len(payload)) + payload

    def step(self):
        c, _ = self.sock.accept()
        with c:
            c.settimeout(5)
            while True:
                try:
                    req = c.recv(70000)
                except OSError:
                    break
                if len(req) < 16:
                    break
                typ = struct.unpack_from("=IHHII", req)[2]
                self.asked.append(typ)
                if typ == REQ_LIST:
                    c.send(header(REPLY_END, 8) + struct.pack("=Q", 0))
                elif self.answer:
                    c.send(self.answer(typ, req))
                else:
                    c.send(self.error(74, "malformed request"))  # EBADMSG
                    break


def test_versions(t, a, work, env):
    """Versions meet: an older CLI's kill (KILL, 3, no namespaces) and a
    request type from a newer one get a version mismatch, never a guess; a
    newer CLI meeting an older daemon says so and kills nothing."""
    before = ss_states(env.fx, "fin-wait-1", "last-ack")
    o = env.list()[0]
    sid = struct.pack("=Q16s16sHHIBB6x", o["cookie"], socket.inet_aton(o["local_address"]) + bytes(12),
                      socket.inet_aton(o["peer_address"]) + bytes(12), o["local_port"], o["peer_port"], 0,
                      socket.AF_INET, 4 if o["state"] == "FIN_WAIT_1" else 9)
    with env.raw() as s:
        s.send(header(REQ_KILL, 8 + 56) + struct.pack("=II", 1, 0) + sid)
        r = s.recv(70000)
    t.eq(reply_type(r), REPLY_ERROR, "0.1's KILL: an error, not a kill")
    t.check(b"version mismatch" in r, f"0.1's KILL: says version mismatch: {r[24:120]!r}")
    with env.raw() as s:
        s.send(header(9, 0))
        r = s.recv(70000)
        t.eq(reply_type(r), REPLY_ERROR, "a request type from a newer client: an error")
        if reply_type(r) == REPLY_ERROR:
            t.eq(struct.unpack_from("=i", r, 16)[0], -errno.EOPNOTSUPP, "it is EOPNOTSUPP")
        t.check(b"version mismatch" in r and b"request 9" in r, f"and says which: {r[24:140]!r}")
        s.send(header(REQ_STATUS, 0))
        t.eq(reply_type(s.recv(70000)), REPLY_STATUS, "the connection goes on")
    t.eq(ss_states(env.fx, "fin-wait-1", "last-ack"), before, "nothing was killed")

    old = OldDaemon(os.path.join(work, "old-control"))
    try:
        start = time.monotonic()
        r = env.fx.run(a.finwatch, "--socket", os.path.join(work, "old-control"), "kill", "--state",
                       "fin-wait-1,last-ack", "--yes", timeout=30)
        t.eq(r.returncode, 1, f"a newer CLI and a 0.1 daemon: kill fails ({r.stdout!r} {r.stderr!r})")
        t.check("version mismatch" in r.stderr and "already gone" not in r.stdout,
                f"and says version mismatch: {r.stderr.strip()!r}")
        t.check(time.monotonic() - start < 10, "at once, no hang")
        t.check(REQ_KILL_NS in old.asked, f"it asked the old daemon: {old.asked}")
    finally:
        old.close()
    t.eq(ss_states(env.fx, "fin-wait-1", "last-ack"), before, "nothing was killed")

    # a daemon that cannot reach a socket's namespace answers ENXIO for it:
    # the CLI says why, counts it as a failure, and exits 1
    def out_of_reach(typ, req):
        count = struct.unpack_from("=I", req, 16)[0]
        results = b"".join(struct.pack("=QiB3x", struct.unpack_from("=Q", req, 24 + 64 * i)[0], -errno.ENXIO, 4)
                           for i in range(count))
        return header(REPLY_KILLED, 8 + len(results)) + struct.pack("=II", count, 0) + results

    fake = OldDaemon(os.path.join(work, "enxio-control"), answer=out_of_reach)
    try:
        r = env.fx.run(a.finwatch, "--socket", os.path.join(work, "enxio-control"), "kill", "--state",
                       "fin-wait-1", "--yes", timeout=30)
        t.eq(r.returncode, 1, f"a kill out of the daemon's reach fails ({r.stdout!r})")
        t.check(r.stdout.startswith("failed FIN_WAIT_1") and "out of reach" in r.stdout,
                f"and the result line says why: {r.stdout.strip()!r}")
    finally:
        fake.close()


def main():
    a = fwtest.parse_args()
    a.peer_reset = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_reset.py")
    fwtest.require_root_netns()
    if not fwtest.find_journald() or not shutil.which("setpriv"):
        fwtest.skip_or_fail("systemd-journald and setpriv are needed")

    t = fwtest.Failures("test_control")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    os.chmod(work, 0o755)  # the nobody client must reach the control socket
    try:
        with fwtest.Journal() as jd:
            conf = os.path.join(work, "finwatch.conf")
            write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1s"},
                       daemon={"state_file": "", "control_socket": os.path.join(work, "control")})
            makes = ["lost-fin:fin-wait-1:orphan:4:2", "lost-fin:last-ack:orphan:4:2",
                     "zero-window:fin-wait-1:owned:6:1", "lost-fin:last-ack:owned:6:1"]
            with fwtest.Fixture(a.fixture, makes, established=3) as fx:
                env = Env(a, work, fx, conf, journal=jd)
                try:
                    time.sleep(1.2)
                    test_list_and_status(t, env)
                    test_kill(t, env)
                    test_kill_journal(t, env)
                finally:
                    if env.proc.poll() is None:
                        env.stop()
            with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:2"]) as fx:
                env = Env(a, work, fx, conf, journal=jd)
                try:
                    test_versions(t, a, work, env)
                finally:
                    if env.proc.poll() is None:
                        env.stop()
            with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:2"]) as fx:
                env = Env(a, work, fx, conf, journal=jd)
                test_fallback(t, env)
            test_autokill(t, a, work, jd)
        test_abuse(t, a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
