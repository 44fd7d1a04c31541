#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""finwatchd against the real kernel and a real journald: one "stuck" record
per stuck socket with every field, "cleared" when one goes, the summary when
a rate limit holds records back, the notify protocol, SIGHUP with a good and
a bad file, ages kept across a restart, alerts on stderr without journald."""
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import fwtest

STUCK = "b4cd1459bf4140c695af9432d3238033"
CLEARED = "bbfca07b105e4dbe9b45054f9af909c9"
SUMMARY = "10dbc8dc976747ae9445d14576345c07"

FIELDS = ("FINWATCH_STATE", "FINWATCH_LOCAL", "FINWATCH_PEER", "FINWATCH_AGE_USEC", "FINWATCH_COOKIE",
          "FINWATCH_ORPHAN", "FINWATCH_TIMER", "FINWATCH_CGROUP_ID")

MESSAGE = re.compile(r"^(FIN_WAIT_1|LAST_ACK) (\S+) -> (\S+) stuck for (\d+(ms|s|min|h|d))( \d+(s|min|h))?, "
                     r"(orphan|owned by a process)$")


def write_conf(path, **sections):
    with open(path, "w") as f:
        for section, keys in sections.items():
            f.write(f"[{section}]\n")
            for k, v in keys.items():
                f.write(f"{k} = {v}\n")


def records(jd, daemon, message_id):
    return jd.records(f"_PID={daemon.pid}", f"MESSAGE_ID={message_id}")


def wait_records(jd, daemon, message_id, n, timeout=20):
    return fwtest.wait_for(lambda: (lambda r: r if len(r) >= n else None)(records(jd, daemon, message_id)),
                           timeout=timeout) or records(jd, daemon, message_id)


def main_scenario(t, a, jd, work):
    makes = ["lost-fin:fin-wait-1:orphan:4:2", "lost-fin:last-ack:owned:6:1",
             "zero-window:fin-wait-1:owned:4:1", "zero-window:last-ack:orphan:mapped:1"]
    conf = os.path.join(work, "finwatch.conf")
    state = os.path.join(work, "state")
    write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1s", "max_per_minute": 50},
               daemon={"state_file": state})

    with fwtest.Fixture(a.fixture, makes, established=3) as fx:
        expected = {(m["state"], m["local"], m["peer"]): m for m in fx.manifest}
        notify = fwtest.NotifyListener(os.path.join(work, "notify"))
        d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd, notify=notify)
        started = time.monotonic()
        try:
            # the notify protocol
            t.check(fwtest.wait_for(lambda: notify.seen("READY=1"), 15), "READY=1 sent")
            status = fwtest.wait_for(lambda: [s for s in notify.seen("STATUS=") if "5 stuck" in s], 15)
            t.eq(status[-1] if status else notify.seen("STATUS="),
                 "STATUS=tracking 5 stuck sockets: 3 FIN_WAIT_1, 2 LAST_ACK", "STATUS line")
            t.check(fwtest.wait_for(lambda: len(notify.seen("WATCHDOG=1")) >= 2, 5), "WATCHDOG=1 sent")

            # exactly one "stuck" record per stuck socket, with every field
            recs = wait_records(jd, d, STUCK, len(expected))
            time.sleep(1.5)  # a few more polls: still one each
            recs = records(jd, d, STUCK)
            t.eq(len(recs), len(expected), "one stuck record per stuck socket")
            listed = {o["cookie"]: o for o in __import__("json").loads(
                fx.run(a.finwatch, "list", "--json", check=True).stdout)}
            seen = {}
            for r in recs:
                for f in FIELDS:
                    t.check(f in r, f"stuck record has {f}")
                key = (r.get("FINWATCH_STATE"), r.get("FINWATCH_LOCAL"), r.get("FINWATCH_PEER"))
                m = expected.get(key)
                if not t.check(m is not None, f"stuck record is for a stuck socket: {key}"):
                    continue
                seen[key] = r
                t.eq(r["PRIORITY"], "4", f"{key} PRIORITY")
                t.check(MESSAGE.match(r["MESSAGE"]), f"{key} MESSAGE {r['MESSAGE']!r}")
                t.eq(r["FINWATCH_ORPHAN"], "yes" if m["orphan"] else "no", f"{key} FINWATCH_ORPHAN")
                t.eq(r["FINWATCH_TIMER"], {"lost-fin": "retransmit", "zero-window": "persist"}[m["cause"]],
                     f"{key} FINWATCH_TIMER")
                t.check(int(r["FINWATCH_AGE_USEC"]) >= 1000000, f"{key} age >= after")
                cookie = int(r["FINWATCH_COOKIE"])
                t.check(cookie in listed, f"{key} cookie is the kernel's")
                if cookie in listed:
                    t.eq(int(r["FINWATCH_CGROUP_ID"]), listed[cookie]["cgroup_id"], f"{key} cgroup id")
            t.eq(set(seen), set(expected), "every stuck socket alerted")

            # a socket that goes away: "cleared"
            victim = next(o for o in listed.values() if o["state"] == "FIN_WAIT_1" and o["orphan"])
            r = fx.run(a.diag_tool, "destroy", str(victim["cookie"]))
            t.eq(r.stdout.strip(), "ok", "destroy one socket")
            cleared = wait_records(jd, d, CLEARED, 1, 10)
            t.eq(len(cleared), 1, "one cleared record")
            if cleared:
                t.eq(int(cleared[0]["FINWATCH_COOKIE"]), victim["cookie"], "cleared record names the socket")
                t.eq(cleared[0]["PRIORITY"], "5", "cleared PRIORITY")
                t.check("cleared after being stuck for" in cleared[0]["MESSAGE"], "cleared MESSAGE")
                t.check(int(cleared[0]["FINWATCH_AGE_USEC"]) >= 1000000, "cleared says how long it was stuck")
            t.check(fwtest.wait_for(lambda: "tracking 4 stuck" in (notify.seen("STATUS=") or [""])[-1], 5),
                    "STATUS follows the tracker")

            # SIGHUP with a bad file: the running config stays whole (the good
            # lines of the bad file, repeat = 1s here, are not applied either)
            write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1s", "repeat": "1s", "max_per_minute": "soon"},
                       daemon={"state_file": state})
            d.signal(signal.SIGHUP)
            t.check(fwtest.wait_for(lambda: "reload failed, keeping the running config" in d.stderr(), 10),
                    "bad reload logged")
            t.check(f"{conf}:6: [alert] max_per_minute = soon" in d.stderr(), "bad reload names file:line and key")
            time.sleep(2)
            t.check(d.alive(), "daemon survives a bad reload")
            t.eq(len(records(jd, d, STUCK)), 5, "no re-alerts: nothing of the bad file was applied")

            # SIGHUP with a good file: repeat = 1s takes effect
            write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1s", "repeat": "1s"},
                       daemon={"state_file": state})
            before = len(records(jd, d, STUCK))
            d.signal(signal.SIGHUP)
            t.check(fwtest.wait_for(lambda: len([r for r in records(jd, d, STUCK)
                                                 if r.get("FINWATCH_REPEAT") == "yes"]) >= 4, 10),
                    "good reload: repeated alerts start")
            t.check(len(records(jd, d, STUCK)) > before, "more records after the good reload")
            t.check(fwtest.wait_for(lambda: notify.seen("RELOADING=1"), 5), "RELOADING=1 sent")

            # restart: ages survive
            time.sleep(max(0.0, 5 - (time.monotonic() - started)))
            uptime = time.monotonic() - started
            t.eq(d.stop(), 0, "SIGTERM: exit 0")
            # the listener thread reads datagrams on its own: give it a moment
            t.check(fwtest.wait_for(lambda: notify.seen("STOPPING=1"), 5), "STOPPING=1 sent")
            t.check(os.path.exists(state), "state file written")

            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd, notify=notify)
            restarted = time.monotonic()
            reps = wait_records(jd, d, STUCK, 4, 10)
            t.check(len(reps) >= 4, f"the restarted daemon repeats its alerts ({len(reps)})")
            t.check("restored 4 tracked sockets" in d.stderr(), f"restore logged: {d.stderr()!r}")
            for r in reps:
                age = int(r["FINWATCH_AGE_USEC"]) / 1e6
                since_restart = time.monotonic() - restarted
                t.check(r.get("FINWATCH_REPEAT") == "yes", "after a restart an alerted socket is not new")
                t.check(age >= uptime - 0.5 and age > since_restart + 2,
                        f"age kept across the restart: {age:.1f}s (daemon ran {uptime:.1f}s before)")
            t.eq(d.stop(), 0, "second daemon exit")

            # a corrupt state file is reported and ignored
            with open(state, "wb") as f:
                f.write(b"\0garbage" * 20)
            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
            recs = wait_records(jd, d, STUCK, 4, 10)
            t.check("ignoring state file" in d.stderr() and "not a finwatch state file" in d.stderr(),
                    f"corrupt state file reported: {d.stderr()!r}")
            t.eq(len(recs) >= 4 and all(r.get("FINWATCH_REPEAT") == "no" for r in recs[:4]), True,
                 "after a corrupt state file the sockets are new again")
            t.eq(d.stop(), 0, "third daemon exit")
        finally:
            if d.alive():
                d.stop()
            notify.close()


def summary_scenario(t, a, jd, work):
    conf = os.path.join(work, "summary.conf")
    write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "1s", "max_per_minute": 50},
               daemon={"state_file": ""})
    with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:500"], extra=["--quiet"]) as fx:
        d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
        try:
            wait_records(jd, d, STUCK, 50, 20)
            time.sleep(2)
            t.eq(len(records(jd, d, STUCK)), 50, "rate limit: 50 stuck records in the minute")
            t.eq(records(jd, d, SUMMARY), [], "no summary before the minute is over")
            t.eq(d.stop(), 0, "exit")
            summ = wait_records(jd, d, SUMMARY, 1, 10)
            t.eq(len(summ), 1, "one summary record")
            if summ:
                t.eq(summ[0].get("FINWATCH_HELD"), "450", "summary counts what was held back")
                t.eq(summ[0].get("FINWATCH_HELD_STUCK"), "450", "held stuck count")
                t.eq(summ[0].get("FINWATCH_MAX_PER_MINUTE"), "50", "summary names the limit")
        finally:
            if d.alive():
                d.stop()


def no_journal_scenario(t, a, work):
    conf = os.path.join(work, "nojournal.conf")
    write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "0"}, daemon={"state_file": ""})
    with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:1"]) as fx:
        d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=None)
        try:
            ok = fwtest.wait_for(lambda: "FINWATCH_STATE=LAST_ACK" in d.stderr(), 10)
            t.check(ok, f"without journald the alert goes to stderr: {d.stderr()!r}")
            err = d.stderr()
            t.eq(err.count("journald is not reachable"), 1, "said once")
            t.check(re.search(r"^<4>LAST_ACK 127\.0\.0\.1:9000 -> 127\.0\.0\.1:\d+ stuck for \S+, orphan .*"
                              r"MESSAGE_ID=" + STUCK, err, re.M), "stderr alert line")
        finally:
            d.stop()


def hidden_sysctls_scenario(t, a, work):
    """A sandbox that hides /proc/sys/net/ipv4 (ProcSubset=pid did, in the
    unit once): finwatchd says so once, instead of taking defaults in silence."""
    conf = os.path.join(work, "hidden.conf")
    write_conf(conf, monitor={"interval": "200ms"}, alert={"after": "0"}, daemon={"state_file": ""})
    hide = ("sh", "-c", 'mount -t tmpfs tmpfs /proc/sys/net/ipv4 && exec "$@"', "sh")
    with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:1"]) as fx:
        d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=None, prefix=hide)
        try:
            ok = fwtest.wait_for(lambda: d.stderr().count("FINWATCH_STATE=LAST_ACK") >= 1, 10)
            t.check(ok, f"the daemon runs and alerts: {d.stderr()!r}")
            time.sleep(1)  # a few more polls
            err = d.stderr()
            t.eq(err.count("cannot read net.ipv4.tcp_orphan_retries and tcp_retries2"), 1,
                 "the unreadable fate sysctls are said once")
            t.eq(err.count("cannot read the orphan count"), 1, "the unreadable orphan count is said once")
        finally:
            d.stop()


def odd_files_scenario(t, a, work):
    """A FIFO or a symbolic link where the state file should be is refused
    with a warning, not waited on or followed; a file where the control
    socket should be is neither unlinked nor listened on."""
    fifo, target, link = (os.path.join(work, n) for n in ("state-fifo", "state-target", "state-link"))
    os.mkfifo(fifo)
    with open(target, "wb") as f:
        f.write(b"not a state file")
    os.symlink(target, link)
    for path, said in ((fifo, "not a regular file (a FIFO)"), (link, "a symbolic link, not followed")):
        conf = os.path.join(work, "odd.conf")
        write_conf(conf, monitor={"interval": "200ms"},
                   daemon={"state_file": path, "control_socket": os.path.join(work, "odd-control")})
        with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:1"]) as fx:
            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=None)
            try:
                ok = fwtest.wait_for(lambda: said in d.stderr(), 10)
                t.check(ok, f"state file {os.path.basename(path)}: refused with a warning: {d.stderr()[-300:]!r}")
                t.check(d.alive(), "and the daemon runs on")
            finally:
                d.stop()
    # something other than a socket where the control socket goes: the
    # daemon names it, does not start, and leaves it as it was
    plain, fifo2, link2 = (os.path.join(work, n) for n in ("not-a-socket", "ctl-fifo", "ctl-link"))
    with open(plain, "w") as f:
        f.write("keep me")
    os.mkfifo(fifo2)
    os.symlink(plain, link2)
    for path, kind in ((plain, "a regular file"), (fifo2, "a FIFO"), (link2, "a symbolic link")):
        conf = os.path.join(work, "odd2.conf")
        write_conf(conf, monitor={"interval": "200ms"}, daemon={"state_file": "", "control_socket": path})
        with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:1"]) as fx:
            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=None)
            fwtest.wait_for(lambda: not d.alive(), 10)
            t.check(not d.alive(), f"{kind} at the control socket's path: the daemon does not start")
            if d.alive():
                d.stop()
            else:
                d.err.close()
            said = f"cannot listen on {path}: it is {kind}, not a socket: left alone"
            t.check(said in d.stderr(), f"and says so: {d.stderr()[-300:]!r}")
    t.check(open(plain).read() == "keep me", "the file is still there")
    t.check(stat.S_ISFIFO(os.lstat(fifo2).st_mode), "the FIFO is still there")
    t.check(os.path.islink(link2) and os.readlink(link2) == plain, "the link is still there")

    # its own socket replaced while it runs: on exit it unlinks only its own
    ctl = os.path.join(work, "ctl-replaced")
    conf = os.path.join(work, "odd3.conf")
    write_conf(conf, monitor={"interval": "200ms"}, daemon={"state_file": "", "control_socket": ctl})
    with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:1"]) as fx:
        d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=None)
        try:
            up = fwtest.wait_for(lambda: os.path.exists(ctl) and stat.S_ISSOCK(os.lstat(ctl).st_mode), 10)
            t.check(up, f"the daemon listens on {ctl}: {d.stderr()[-300:]!r}")
            if up:
                os.unlink(ctl)
                with open(ctl, "w") as f:
                    f.write("not yours")
        finally:
            t.eq(d.stop(), 0, "clean exit")
    t.check(os.path.exists(ctl) and open(ctl).read() == "not yours",
            "a file that took the socket's place is not unlinked on exit")


def main():
    a = fwtest.parse_args("diag_tool")
    fwtest.require_root_netns()
    if not fwtest.find_journald() or not shutil.which("journalctl"):
        fwtest.skip_or_fail("systemd-journald and journalctl are needed")

    t = fwtest.Failures("test_daemon")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    try:
        with fwtest.Journal() as jd:
            main_scenario(t, a, jd, work)
            summary_scenario(t, a, jd, work)
        no_journal_scenario(t, a, work)
        hidden_sysctls_scenario(t, a, work)
        odd_files_scenario(t, a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
