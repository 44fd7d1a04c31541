#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Malformed sock_diag replies and an ineffective SOCK_DESTROY in a running
finwatchd. fw-nlfault.so (LD_PRELOAD) corrupts the replies the daemon
receives, as the file named by FWFAULT_FILE says: while a fault is on, every
poll must fail cleanly (the failure counter goes up, the tracked sockets and
their ages are kept, no alert, clear or kill comes from the partial data);
once it is off, the daemon catches up. An ineffective kill (the socket is
still there afterwards) is reported as such, never as killed."""
import json
import os
import tempfile
import time

import fwtest

STUCK = "b4cd1459bf4140c695af9432d3238033"
CLEARED = "bbfca07b105e4dbe9b45054f9af909c9"
KILLED = "176cef42821a44f49b664d8769c52f27"

FAULTS = ["short-header", "bad-attr-len", "error-mid-dump", "wrong-sender", "no-done"]


class Env:
    def __init__(self, t, a, work, fx, jd):
        self.t, self.a, self.fx, self.jd = t, a, fx, jd
        self.fault = os.path.join(work, "fault")
        self.set_fault("none")
        self.sock = os.path.join(work, "control")
        conf = os.path.join(work, "faults.conf")
        with open(conf, "w") as f:
            # auto-kill only the lost-fin sockets (local ports 9000-9099)
            f.write(f"[monitor]\ninterval = 300ms\n[alert]\nafter = 1s\n"
                    f"[kill]\nauto = yes\nafter = 6s\nonly_ports = 9000-9099\n"
                    f"[daemon]\nstate_file =\ncontrol_socket = {self.sock}\n")
        asan = os.environ.get("ASAN_OPTIONS", "")
        prefix = ["env", f"LD_PRELOAD={a.nlfault}", f"FWFAULT_FILE={self.fault}",
                  # the module comes before the ASan runtime in a sanitized build
                  f"ASAN_OPTIONS={asan + ':' if asan else ''}verify_asan_link_order=0"]
        self.d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd, prefix=prefix)
        if not fwtest.wait_for(lambda: self.cli("status").returncode == 0, 20):
            raise RuntimeError("finwatchd did not answer: " + self.d.stderr())

    def set_fault(self, name):
        tmp = self.fault + ".tmp"
        with open(tmp, "w") as f:
            f.write(name + "\n")
        os.rename(tmp, self.fault)

    def faults_applied(self):
        try:
            with open(self.fault + ".log") as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def cli(self, *args):
        return self.fx.run(self.a.finwatch, "--socket", self.sock, *args)

    def status(self):
        r = self.cli("status", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def records(self, message_id):
        return self.jd.records(f"_PID={self.d.pid}", f"MESSAGE_ID={message_id}")


def main():
    a = fwtest.parse_args("nlfault")
    fwtest.require_root_netns()
    if not fwtest.find_journald():
        fwtest.skip_or_fail("systemd-journald not installed")
    t = fwtest.Failures("faults")
    makes = ["lost-fin:fin-wait-1:orphan:4:3", "zero-window:last-ack:orphan:4:3"]
    with tempfile.TemporaryDirectory(prefix="finwatch-faults-") as work, \
            fwtest.Journal() as jd, fwtest.Fixture(a.fixture, makes) as fx:
        e = Env(t, a, work, fx, jd)
        try:
            scenario(t, e, fx)
        finally:
            e.set_fault("none")
            t.eq(e.d.stop(), 0, "finwatchd exits cleanly")
    t.done()


def scenario(t, e, fx):
    ok = fwtest.wait_for(lambda: len(e.records(STUCK)) >= 6, 20)
    t.check(ok, f"6 stuck records before any fault (got {len(e.records(STUCK))})")
    tracked = e.status().get("tracked")
    t.eq(tracked, 6, "six sockets tracked")
    ages = {o["cookie"]: o["age_seconds"] for o in json.loads(e.cli("list", "--json").stdout or "[]")}

    # One zero-window socket goes away behind the daemon's back while the
    # dumps fail: it must not be reported cleared until a dump is complete.
    # It goes once the first fault is in effect: two complete dumps without
    # it (600 ms) would rightly forget it.
    victim = next(m for m in fx.manifest if m["cause"] == "zero-window")
    peer_port = victim["peer"].rsplit(":", 1)[1]

    started = time.monotonic()
    for i, fault in enumerate(FAULTS):
        e.set_fault(fault)
        # Count failures only once the module has corrupted a reply with this
        # fault: a poll of the previous fault may still be failing when the
        # file changes (under ASan on a loaded machine that failure was
        # counted for no-done, which then never ran). Polls run one at a
        # time, so every earlier poll's failure is counted by now.
        applied = fwtest.wait_for(lambda: fault in e.faults_applied(), 20)
        before = e.status().get("poll_failures", 0)
        # no-done waits out the daemon's 10 s receive timeout once per poll
        want = 1 if fault == "no-done" else 3
        ok = applied and fwtest.wait_for(lambda: e.status().get("poll_failures", 0) >= before + want, 40)
        if i == 0:
            r = fx.run("ss", "-K", "state", "last-ack", "dport", "=", ":" + peer_port)
            t.eq(r.returncode, 0, f"ss -K of one zero-window socket ({r.stderr.strip()})")
            t.eq(len(fwtest.ss_sockets(fx)), 5, "five stuck sockets left (ss)")
        st = e.status()
        t.check(ok, f"{fault}: polls fail (poll_failures {before} -> {st.get('poll_failures')})")
        t.check(st.get("last_poll_error"), f"{fault}: the last poll error is shown ({st.get('last_poll_error')!r})")
        t.check(fault in e.faults_applied(), f"{fault}: the module corrupted a reply")
        t.eq(st.get("tracked"), 6, f"{fault}: the previous state is kept")
    elapsed = time.monotonic() - started
    t.check(elapsed > 6, f"the faults lasted past the kill threshold ({elapsed:.1f}s)")

    # Still failing (no-done): checked before dumps work again, when the
    # first complete one rightly clears and kills.
    t.eq(e.records(CLEARED), [], "no cleared record from a failed dump")
    t.eq(e.records(KILLED), [], "no kill from a failed dump")
    t.eq(len(e.records(STUCK)), 6, "no new stuck record from a failed dump")
    t.eq(len(fwtest.ss_sockets(fx)), 5, "nothing was killed while the dumps failed (ss)")
    rows = json.loads(e.cli("list", "--json").stdout or "[]")
    t.check(rows and all(o["age_seconds"] is not None and o["age_seconds"] >= ages.get(o["cookie"], 0) + 6
                         for o in rows), "the ages kept growing through the failures")
    e.set_fault("none")

    # Dumps work again: the vanished socket is cleared, the lost-fin ones are killed.
    ok = fwtest.wait_for(lambda: len(e.records(CLEARED)) >= 1 and len(e.records(KILLED)) >= 3, 20)
    t.check(ok, "after the faults: one cleared and three killed records")
    cleared = e.records(CLEARED)
    t.eq(len(cleared), 1, "exactly one cleared record")
    t.eq(cleared and cleared[0].get("FINWATCH_PEER", "").rsplit(":", 1)[1], peer_port,
         "the cleared one is the socket ss -K removed")
    killed = e.records(KILLED)
    t.eq(sorted(r.get("FINWATCH_KILL_RESULT") for r in killed), ["killed"] * 3, "three auto-kills")
    t.check(all(r.get("FINWATCH_LOCAL", "").endswith(tuple(f":{p}" for p in range(9000, 9100))) for r in killed),
            "only lost-fin sockets were auto-killed")
    t.check("socket dumps work again" in e.d.stderr(), "the recovery is logged")
    left = fwtest.ss_sockets(fx)
    t.eq(len(left), 2, "two zero-window sockets left (ss)")

    # An ineffective kill: SOCK_DESTROY acknowledged, the socket still there.
    e.set_fault("ineffective-kill")
    r = e.cli("kill", "--state", "last-ack", "--yes")
    t.eq(r.returncode, 1, f"an ineffective kill fails ({r.stdout.strip()} {r.stderr.strip()})")
    t.eq(r.stdout.count("still there after SOCK_DESTROY"), 2, "both are reported still there")
    t.check("killed LAST_ACK" not in r.stdout, "nothing is claimed killed")
    t.eq(fwtest.ss_sockets(fx), left, "both sockets are still there (ss)")
    manual = [r for r in e.records(KILLED) if r.get("FINWATCH_KILL_ORIGIN") != "auto"]
    t.eq(sorted(r.get("FINWATCH_KILL_RESULT") for r in manual), ["failed"] * 2,
         "the journal records say failed, not killed")
    t.check(all(r.get("FINWATCH_KILL_ERRNO") == str(11) for r in manual), "with EAGAIN")
    t.eq(e.status().get("tracked"), 2, "the daemon still tracks them")

    e.set_fault("none")
    r = e.cli("kill", "--state", "last-ack", "--yes")
    t.eq(r.returncode, 0, f"a real kill works afterwards ({r.stdout.strip()} {r.stderr.strip()})")
    t.eq(fwtest.ss_sockets(fx), set(), "nothing left (ss)")


if __name__ == "__main__":
    main()
