#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Clock changes make no spurious alert or kill.

Wall clock: finwatchd runs with fw-walljump.so (LD_PRELOAD), which moves
only its CLOCK_REALTIME, as date -s moves the machine's, and the wall clock
is set a year ahead and a year back while it tracks stuck sockets.

Time namespace: finwatchd is restarted, with its state file, into a time
namespace whose CLOCK_BOOTTIME runs a year ahead (unshare --time), then back
into the host's: the ages go on from where they were, in both directions."""
import json
import os
import subprocess
import tempfile
import time

import fwtest

STUCK = "b4cd1459bf4140c695af9432d3238033"
KILLED = "176cef42821a44f49b664d8769c52f27"
YEAR = 365 * 86400


def asan_prefix():
    # a preloaded library comes before the ASan runtime in a sanitized build
    asan = os.environ.get("ASAN_OPTIONS", "")
    return f"ASAN_OPTIONS={asan + ':' if asan else ''}verify_asan_link_order=0"


def cli(a, fx, sock, *args):
    return fx.run(a.finwatch, "--socket", sock, *args)


def ages(a, fx, sock):
    """The daemon's ages of the listed sockets; [] until it tracks them all
    (alerted is null for a socket the daemon does not know, or with no
    daemon, whose age is the kernel's)."""
    r = cli(a, fx, sock, "list", "--json")
    rows = json.loads(r.stdout) if r.returncode == 0 else []
    return [] if any(o["alerted"] is None for o in rows) else sorted(o["age_seconds"] for o in rows)


def records(jd, d, message_id):
    return jd.records(f"_PID={d.pid}", f"MESSAGE_ID={message_id}")


def write_conf(work, name, alert_after, kill_after):
    """A config that alerts and auto-kills after the given times; returns
    (control socket, config file)."""
    sock, conf = os.path.join(work, f"control-{name}"), os.path.join(work, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = {alert_after}\n[kill]\nauto = yes\n"
                f"after = {kill_after}\n[daemon]\nstate_file = {work}/{name}.state\ncontrol_socket = {sock}\n")
    return sock, conf


def wall_clock(t, a, jd, work):
    sock, conf = write_conf(work, "wall", "4s", "6s")
    stamp = os.path.join(work, "walljump")

    def set_clock(offset):
        with open(stamp + ".tmp", "w") as f:
            f.write(offset + "\n")
        os.rename(stamp + ".tmp", stamp)

    set_clock("0")
    env = ["env", f"LD_PRELOAD={a.walljump}", f"FWJUMP_FILE={stamp}", asan_prefix()]
    makes = ["lost-fin:last-ack:orphan:4:2", "zero-window:fin-wait-1:orphan:4:1"]
    with fwtest.Fixture(a.fixture, makes) as fx:
        d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd, prefix=env)
        try:
            t.check(fwtest.wait_for(lambda: len(ages(a, fx, sock)) == 3, 15),
                    "wall clock: three sockets tracked")
            started = time.monotonic()
            with open(f"/proc/{d.pid}/maps") as f:
                t.check("fw-walljump" in f.read(), "wall clock: fw-walljump.so is in the daemon")
            # the oracle: the same settings move date(1) by a year
            set_clock(f"{YEAR}")
            year = subprocess.run(["env", *env[1:], "date", "+%Y"], capture_output=True, text=True).stdout.strip()
            t.eq(year, str(time.gmtime().tm_year + 1), "wall clock: date(1) under the same settings is a year ahead")
            time.sleep(1)
            set_clock(f"-{YEAR}")
            time.sleep(1)
            set_clock("0")
            time.sleep(0.5)
            t.check(time.monotonic() - started < 3.5, "wall clock: the jumps were over before the alert threshold")
            t.eq(len(records(jd, d, STUCK)), 0, "wall clock: no alert from the jumps")
            t.eq(len(records(jd, d, KILLED)), 0, "wall clock: no kill from the jumps")
            t.eq(len(fwtest.ss_sockets(fx)), 3, "wall clock: all three sockets still there (ss)")
            t.check(all(0 < x < 4 for x in ages(a, fx, sock)), f"wall clock: ages unmoved ({ages(a, fx, sock)})")

            # and the real thresholds still work, with true ages
            ok = fwtest.wait_for(lambda: len(records(jd, d, STUCK)) >= 3 and len(records(jd, d, KILLED)) >= 3, 15)
            t.check(ok, "wall clock: alerts and kills come at their time")
            stuck = [int(r["FINWATCH_AGE_USEC"]) for r in records(jd, d, STUCK)]
            t.check(stuck and all(4e6 <= x < 7e6 for x in stuck), f"wall clock: alerted at 4 s ({stuck})")
            killed = [int(r["FINWATCH_AGE_USEC"]) for r in records(jd, d, KILLED)]
            t.check(killed and all(6e6 <= x < 9e6 for x in killed), f"wall clock: killed at 6 s ({killed})")
        finally:
            set_clock("0")
            t.eq(d.stop(), 0, "wall clock: finwatchd exits cleanly")


def time_namespace(t, a, jd, work):
    sock, conf = write_conf(work, "timens", "1min", "2min")
    # holds a time namespace a year ahead; the daemon enters it (nsenter -T)
    holder = subprocess.Popen(["unshare", "--time", "--boottime", str(YEAR), "sleep", "600"])
    ahead = ["nsenter", f"--time=/proc/{holder.pid}/ns/time_for_children", "--"]
    try:
        # ns/time_for_children exists from the start (as the host's); the
        # holder is in its own namespace, offsets written, once it has
        # exec'd sleep in it
        ours = os.readlink("/proc/self/ns/time")

        def moved():
            try:
                return os.readlink(f"/proc/{holder.pid}/ns/time") != ours
            except OSError:
                return False
        t.check(fwtest.wait_for(moved, 5), "time namespace: the holder is in a time namespace of its own")
        r = subprocess.run([*ahead, "cat", "/proc/uptime"], capture_output=True, text=True)
        up = float(r.stdout.split()[0]) if r.returncode == 0 else 0
        t.check(up > YEAR, f"time namespace: CLOCK_BOOTTIME a year ahead in it ({up:.0f} s)")

        with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:2"]) as fx:
            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
            t.check(fwtest.wait_for(lambda: len(ages(a, fx, sock)) == 2 and min(ages(a, fx, sock)) >= 2, 15),
                    "time namespace: two sockets tracked for 2 s")
            t.eq(d.stop(), 0, "time namespace: first daemon exits cleanly")

            stops = []
            for where, prefix in (("a year ahead", ahead), ("back in the host's", [])):
                d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd, prefix=prefix)
                try:
                    ok = fwtest.wait_for(lambda: len(ages(a, fx, sock)) == 2, 15)
                    t.check(ok, f"{where}: the daemon answers")
                    got = ages(a, fx, sock)
                    t.check(got and all(2 <= x < 20 for x in got), f"{where}: the ages go on ({got})")
                    t.check("restored 2 tracked sockets" in d.stderr(), f"{where}: the state file was used")
                    time.sleep(1)
                    t.eq(len(records(jd, d, STUCK)), 0, f"{where}: no alert")
                    t.eq(len(records(jd, d, KILLED)), 0, f"{where}: no kill")
                    t.eq(len(fwtest.ss_sockets(fx)), 2, f"{where}: both sockets still there (ss)")
                finally:
                    stops.append(d.stop())
            t.eq(stops, [0, 0], "time namespace: the daemons exit cleanly")
    finally:
        fwtest.stop_process(holder)


def main():
    a = fwtest.parse_args("walljump")
    fwtest.require_root_netns()
    if not fwtest.find_journald():
        fwtest.skip_or_fail("systemd-journald not installed")
    if not os.path.exists("/proc/self/timens_offsets"):
        fwtest.skip_or_fail("this kernel has no time namespaces (CONFIG_TIME_NS)")
    t = fwtest.Failures("clock")
    with tempfile.TemporaryDirectory(prefix="finwatch-clock-") as work, fwtest.Journal() as jd:
        wall_clock(t, a, jd, work)
        time_namespace(t, a, jd, work)
    t.done()


if __name__ == "__main__":
    main()
