#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The control socket's limits with the real finwatchd: two unprivileged
users each keep 64 connections going (limits_client.py) for ~35 s while
root's status, list, kill and reload must all succeed every time; the
users get at most 8 connections each, refusals in words, and their
connections closed at their 30 s lifetime whatever they ask. Then the
kill's audit record without the daemon: --no-daemon while it runs, plain
kill once it stopped, and no kill at all around something that listens on
the control socket but does not answer."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import fwtest

KILLED = "176cef42821a44f49b664d8769c52f27"
USERS = (65534, 65533)
CONNECTIONS = 64          # per user, at once
LOAD_SECONDS = 35         # past one 30 s lifetime
LIFETIME = 30.0           # CONTROL_CLIENT_LIFETIME_USEC
PER_UID = 8               # CONTROL_MAX_PER_UID


def write_conf(path, sock):
    with open(path, "w") as f:
        f.write(f"[monitor]\ninterval = 500ms\n[alert]\nafter = 1h\n[daemon]\nstate_file =\ncontrol_socket = {sock}\n")


class Cli:
    """finwatch in the fixture's network namespace and, for the audit
    record, the test journald's mount namespace."""

    def __init__(self, a, fx, jd, sock):
        self.a, self.fx, self.jd, self.sock = a, fx, jd, sock

    def __call__(self, *args, timeout=60):
        cmd = ["nsenter", "-t", str(self.fx.pid), "-n", f"--mount={self.jd.mount_ns()}", "--",
               self.a.finwatch, "--socket", self.sock, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def start_load(fx, script, sock, uid):
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    return subprocess.Popen(["nsenter", "-t", str(fx.pid), "-n", "--", "setpriv", f"--reuid={uid}", f"--regid={uid}",
                             "--clear-groups", py, script, sock, str(CONNECTIONS), str(LOAD_SECONDS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_under_load(t, a, work, fx, jd, cli, daemon):
    script = os.path.join(work, "limits_client.py")  # where the users can read it
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits_client.py"), script)
    os.chmod(script, 0o644)
    stuck = {o["cookie"]: o for o in json.loads(cli("list", "--json").stdout)}
    loads = {uid: start_load(fx, script, daemon.sock, uid) for uid in USERS}
    ops = {"status": [], "list": [], "kill": [], "reload": []}
    killed = []
    try:
        time.sleep(2)  # the users' connections are all made by now
        round_ = 0
        while any(p.poll() is None for p in loads.values()):
            round_ += 1
            listed = None
            for verb, args in (("status", ["status"]), ("list", ["list", "--json"]), ("reload", ["reload"])):
                r = cli(*args)
                ops[verb].append((r.returncode, r.stderr.strip()))
                if verb == "list" and r.returncode == 0:
                    listed = json.loads(r.stdout)
            if round_ % 3 == 0 and listed is not None:
                alive = [o for o in listed if o["cookie"] not in killed]
                if len(alive) > 6:  # keep some for the tests without the daemon
                    c = alive[0]["cookie"]
                    r = cli("kill", "--cookie", str(c), "--yes")
                    ok = r.returncode == 0 and r.stdout.startswith("killed ")
                    ops["kill"].append((0 if ok else r.returncode or 1, (r.stdout + r.stderr).strip()))
                    killed.append(c)
            time.sleep(0.5)
        results = {}
        for uid, p in loads.items():
            so, se = p.communicate(timeout=30)
            t.eq(p.returncode, 0, f"uid {uid}'s load client exits 0 ({se.strip()[-300:]})")
            results[uid] = json.loads(so) if p.returncode == 0 else None
    finally:
        for p in loads.values():
            fwtest.stop_process(p)

    print("root under load: " + ", ".join(f"{len(runs)} {verb}" for verb, runs in ops.items()), flush=True)
    for verb, runs in ops.items():
        bad = [r for r in runs if r[0] != 0]
        t.check(runs and not bad, f"root's finwatch {verb} succeeded every time under load "
                                  f"({len(runs) - len(bad)}/{len(runs)}; {bad[:3]})")
    t.check(len(killed) >= 5, f"several kills under load ({len(killed)})")
    t.eq(stuck.keys() >= set(killed), True, "the kills were of the fixture's stuck sockets")

    for uid, res in results.items():
        if not res:
            continue
        print(f"uid {uid}: {json.dumps({k: v for k, v in res.items() if k != 'lifetimes'})}; "
              f"lifetimes {sorted(res['lifetimes'])[:3]}..{sorted(res['lifetimes'])[-3:]}", flush=True)
        t.eq(res["max_admitted"], PER_UID, f"uid {uid}: {PER_UID} connections admitted at most at once")
        t.check(res["answers"] > 400, f"uid {uid}: the admitted connections kept talking ({res['answers']} answers)")
        t.check(res["slowest_answer"] < 2.0, f"uid {uid}: every answer within 2 s ({res['slowest_answer']} s)")
        t.eq(res["bare_refusals"], {}, f"uid {uid}: no refusal was a bare reset or close")
        t.eq(res["connect_errors"], {}, f"uid {uid}: every connect went through")
        t.eq(res["errors_while_admitted"], {}, f"uid {uid}: no error on an admitted connection")
        want = f"uid {uid} has {PER_UID} connections open, the most one user may"
        texts = res["refusals"]
        t.check(texts and all(want in text for text in texts),
                f"uid {uid}: every refusal is an ERROR naming the limit ({list(texts)[:2]})")
        t.eq(set(res["refusal_errnos"]), {"16"}, f"uid {uid}: refusals are EBUSY")
        t.check(sum(texts.values()) > 100, f"uid {uid}: many refusals ({sum(texts.values())})")
        lt = res["lifetimes"]
        # the first 8 lived from the start; their replacements were still young at the end
        t.check(len(lt) >= PER_UID, f"uid {uid}: the daemon closed the long-lived connections ({len(lt)})")
        t.check(lt and all(LIFETIME - 0.1 <= x <= LIFETIME + 1.5 for x in lt),
                f"uid {uid}: each closed {LIFETIME:g} s after connecting despite its requests ({sorted(lt)})")
        t.check(all(x < LIFETIME + 1.5 for x in res["open_at_end"]),
                f"uid {uid}: none open beyond its lifetime ({res['open_at_end']})")

    recs = jd.records(f"_PID={daemon.pid}", f"MESSAGE_ID={KILLED}")
    by_cookie = {r.get("FINWATCH_COOKIE"): r for r in recs}
    for c in killed:
        r = by_cookie.get(str(c))
        t.check(r is not None, f"the kill of {c} is in the journal")
        if r:
            t.eq((r.get("FINWATCH_REQUESTER_UID"), r.get("FINWATCH_KILL_RESULT"), r.get("FINWATCH_KILL_VIA")),
                 ("0", "killed", "finwatchd"), f"the kill of {c}: requester, result, via")
    return killed


def kill_record(t, jd, cookie, what):
    recs = fwtest.wait_for(lambda: jd.records(f"MESSAGE_ID={KILLED}", f"FINWATCH_COOKIE={cookie}"), 5)
    t.eq(len(recs or []), 1, f"{what}: one record of the kill")
    if recs:
        r = recs[0]
        t.eq({k: r.get(k) for k in ("FINWATCH_KILL_VIA", "FINWATCH_REQUESTER_UID", "SYSLOG_IDENTIFIER",
                                    "FINWATCH_KILL_RESULT", "FINWATCH_KILL_ORIGIN")},
             {"FINWATCH_KILL_VIA": "finwatch", "FINWATCH_REQUESTER_UID": "0", "SYSLOG_IDENTIFIER": "finwatch",
              "FINWATCH_KILL_RESULT": "killed", "FINWATCH_KILL_ORIGIN": "manual"}, f"{what}: the record's fields")


class SilentDaemon(fwtest.Listener):
    """Something at the control socket that accepts and closes, never answering."""

    def __init__(self, path):
        self.accepted = 0
        super().__init__(path, socket.SOCK_SEQPACKET)

    def step(self):
        c, _ = self.sock.accept()
        self.accepted += 1
        c.close()


def test_without_daemon(t, fx, jd, cli, daemon, killed):
    listed = [o for o in json.loads(cli("list", "--json").stdout) if o["cookie"] not in killed]
    t.check(len(listed) >= 3, f"stuck sockets left for the kills without the daemon ({len(listed)})")
    if len(listed) < 3:
        return
    one, two, three = listed[:3]

    def present(o):
        key = (o["state"], f"{o['local_address']}:{o['local_port']}", f"{o['peer_address']}:{o['peer_port']}")
        return key in fwtest.ss_sockets(fx)

    r = cli("kill", "--no-daemon", "--cookie", str(one["cookie"]), "--yes")
    t.check(r.returncode == 0 and r.stdout.startswith("killed "), f"kill --no-daemon beside the daemon: {r.stdout!r}")
    t.eq(present(one), False, "kill --no-daemon: the socket is gone (ss)")
    kill_record(t, jd, one["cookie"], "kill --no-daemon")

    t.eq(daemon.stop(), 0, "the daemon stops")
    t.eq(os.path.exists(daemon.sock), False, "its control socket is gone with it")
    r = cli("kill", "--cookie", str(two["cookie"]), "--yes")
    t.check(r.returncode == 0 and r.stdout.startswith("killed "), f"kill with no daemon: {r.stdout!r} {r.stderr!r}")
    t.eq(present(two), False, "kill with no daemon: the socket is gone (ss)")
    kill_record(t, jd, two["cookie"], "kill with no daemon")

    silent = SilentDaemon(daemon.sock)
    try:
        start = time.monotonic()
        r = cli("kill", "--cookie", str(three["cookie"]), "--yes", timeout=60)
        t.eq(r.returncode, 1, f"kill beside a daemon that does not answer: exit 1 ({r.stdout!r})")
        t.check("nothing killed" in r.stderr, f"and says nothing was killed: {r.stderr.strip()!r}")
        t.check(time.monotonic() - start < 10, "at once")
        t.check(silent.accepted >= 1, "it did ask the thing at the socket")
    finally:
        silent.close()
    t.eq(present(three), True, "the socket is still there (ss)")
    t.eq(jd.records(f"MESSAGE_ID={KILLED}", f"FINWATCH_COOKIE={three['cookie']}"), [], "and no record of a kill")


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    if not fwtest.find_journald() or not shutil.which("setpriv"):
        fwtest.skip_or_fail("systemd-journald and setpriv are needed")

    t = fwtest.Failures("test_limits")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    os.chmod(work, 0o755)  # the users must reach the control socket
    sock = os.path.join(work, "control")
    conf = os.path.join(work, "finwatch.conf")
    write_conf(conf, sock)
    try:
        with fwtest.Journal() as jd, \
                fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:10", "lost-fin:fin-wait-1:orphan:4:10"]) as fx:
            cli = Cli(a, fx, jd, sock)
            daemon = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
            daemon.sock = sock
            try:
                ok = fwtest.wait_for(lambda: cli("status").returncode == 0, 15)
                if not t.check(ok, "finwatchd answers"):
                    raise RuntimeError("finwatchd did not answer: " + daemon.stderr())
                fwtest.wait_for(lambda: len(json.loads(cli("list", "--json").stdout)) == 20, 10)
                killed = test_under_load(t, a, work, fx, jd, cli, daemon)
                t.check(daemon.alive(), "finwatchd alive after the load")
                test_without_daemon(t, fx, jd, cli, daemon, killed)
            finally:
                if daemon.alive():
                    daemon.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
