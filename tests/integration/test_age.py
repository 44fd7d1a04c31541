#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ages from the kernel: lost FINs in FIN_WAIT_1 and LAST_ACK, a peer's
zero window and a FIN blocked locally, left stuck for 30 s with nothing
watching; then `finwatch list` without a daemon gives each an age from the
kernel's fields (the truth within the bounds, the lost FINs' estimate
within the first RTO plus a poll of it, "~" or ">" as the bounds say), and
a daemon started then, with [alert] after below the wait, alerts at its
first poll with FINWATCH_AGE_SOURCE=kernel and lists the kernel's age. One
30-second wait for all: suite 'once'."""
import json
import os
import re
import tempfile
import time

import fwtest

WAIT = 32          # s, the sockets' age when first looked at
FIRST_RTO = 0.25   # s, loopback's RTO (200 ms minimum) and its rounding
POLL = 1.0         # s, the daemon's interval below


def rows_by_port(rows):
    return {(o["state"], o["local_port"]): o for o in rows}


def check_bounds(t, o, lo, hi, what):
    """The truth lies in [lo, hi] (s): the bounds must hold it."""
    t.check(o["age_min_seconds"] is not None and o["age_min_seconds"] <= hi + 0.01,
            f"{what}: lower bound {o['age_min_seconds']} <= truth (at most {hi:.2f})")
    t.check(o["age_max_seconds"] is None or o["age_max_seconds"] >= lo - 0.01,
            f"{what}: upper bound {o['age_max_seconds']} >= truth (at least {lo:.2f})")
    t.check(o["age_min_seconds"] is not None and o["age_min_seconds"] <= o["age_seconds"] and
            (o["age_max_seconds"] is None or o["age_seconds"] <= o["age_max_seconds"]),
            f"{what}: the estimate within its bounds")


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    t = fwtest.Failures("kernel-ages")
    makes = ["lost-fin:fin-wait-1:owned:4:1", "lost-fin:last-ack:orphan:4:1",
             "zero-window:fin-wait-1:owned:4:1", "blocked-locally:last-ack:owned:4:1"]
    with tempfile.TemporaryDirectory(prefix="fw-age-") as work:
        sock = os.path.join(work, "control")
        conf = os.path.join(work, "finwatch.conf")
        with open(conf, "w") as f:
            f.write(f"[monitor]\ninterval = 1s\n[alert]\nafter = 20s\n[daemon]\ncontrol_socket = {sock}\n")
        started = time.monotonic()
        with fwtest.Fixture(a.fixture, makes) as fx:
            ready = time.monotonic()
            # the FINs left (or the windows closed) between started and ready
            time.sleep(max(0.0, WAIT - (time.monotonic() - ready)))

            # no daemon: the kernel's fields alone
            before = time.monotonic()
            r = fx.run(a.finwatch, "--socket", sock, "list", "--no-daemon", "--json")
            after = time.monotonic()
            t.eq(r.returncode, 0, "list --no-daemon")
            rows = rows_by_port(json.loads(r.stdout) if r.returncode == 0 else [])
            lo, hi = before - ready, after - started
            for state in ("FIN_WAIT_1", "LAST_ACK"):
                o = rows.get((state, 9000))
                if not t.check(o is not None, f"lost FIN in {state} listed"):
                    continue
                what = f"lost FIN, {state}"
                t.eq(o["age_source"], "kernel", f"{what}: age_source")
                check_bounds(t, o, lo, hi, what)
                t.check(lo - FIRST_RTO - POLL <= o["age_seconds"] <= hi + FIRST_RTO + POLL,
                        f"{what}: estimate {o['age_seconds']} within the first RTO and a poll of "
                        f"the truth ({lo:.2f} .. {hi:.2f})")
                t.check(o["age_max_seconds"] is not None and o["age_max_seconds"] - o["age_min_seconds"] <= 2,
                        f"{what}: close bounds ({o['age_min_seconds']} .. {o['age_max_seconds']})")
            zw = rows.get(("FIN_WAIT_1", 9100))
            if t.check(zw is not None, "zero window listed"):
                t.eq(zw["age_source"], "kernel", "zero window: age_source")
                check_bounds(t, zw, lo, hi, "zero window")
                t.check(zw["age_max_seconds"] is not None, "zero window: an upper bound (last data sent)")
            bl = rows.get(("LAST_ACK", 9200))
            if t.check(bl is not None, "blocked locally listed"):
                t.eq(bl["age_source"], "kernel", "blocked locally: age_source")
                check_bounds(t, bl, lo, hi, "blocked locally")
                t.check(bl["age_max_seconds"] is None, "blocked locally: no upper bound")

            # the table marks them: ~ an estimate, > a lower bound only
            r = fx.run(a.finwatch, "--socket", sock, "list", "--no-daemon")
            cells = {}
            for line in r.stdout.splitlines()[1:]:
                f = line.split()
                cells[(f[5], int(f[3].rsplit(":", 1)[1]))] = f[7]
            for key, mark in ((("FIN_WAIT_1", 9000), "~"), (("LAST_ACK", 9000), "~"), (("LAST_ACK", 9200), ">")):
                t.check(cells.get(key, "")[:1] == mark, f"table: {key} Age {cells.get(key)!r} starts with {mark}")

            # --older-than without a daemon: the lower bounds decide
            r = fx.run(a.finwatch, "--socket", sock, "list", "--no-daemon", "--json", "--older-than", "25s")
            old = rows_by_port(json.loads(r.stdout) if r.returncode == 0 else [])
            t.check({("FIN_WAIT_1", 9000), ("LAST_ACK", 9000)} <= set(old), "--older-than 25s: the lost FINs")
            r = fx.run(a.finwatch, "--socket", sock, "list", "--no-daemon", "--json", "--older-than", "10min")
            t.eq(r.stdout.strip(), "[]", "--older-than 10min: none")

            # a daemon started now, [alert] after 20 s: it alerts at its first poll
            d = fwtest.Daemon(a.finwatchd, conf, fx, work)
            d_started = time.monotonic()
            try:
                stuck = re.compile(r"^<4>(FIN_WAIT_1|LAST_ACK) 127\.0\.0\.1:9000 -> .* stuck for .*MESSAGE_ID="
                                   r"b4cd1459bf4140c695af9432d3238033 .*FINWATCH_AGE_USEC=(\d+) "
                                   r"FINWATCH_AGE_SOURCE=(\w+)", re.M)
                found = fwtest.wait_for(lambda: len(stuck.findall(d.stderr())) >= 2, timeout=10)
                seen_at = time.monotonic() - d_started
                t.check(found, f"two stuck alerts for the lost FINs: {d.stderr()[-1500:]}")
                t.check(seen_at <= POLL + 3, f"alerts at the first poll (after {seen_at:.1f} s)")
                for state, age, source in stuck.findall(d.stderr()):
                    t.eq(source, "kernel", f"{state} alert: FINWATCH_AGE_SOURCE")
                    t.check(20e6 <= int(age) <= (time.monotonic() - started) * 1e6,
                            f"{state} alert: age {int(age) / 1e6:.2f} s, past [alert] after, not past the truth")

                # through the daemon: its age, the kernel's lower bound it started at
                r = fwtest.wait_for(lambda: (lambda x: x if x.returncode == 0 else None)(
                    fx.run(a.finwatch, "--socket", sock, "list", "--json")), timeout=10)
                before = time.monotonic()
                rows = rows_by_port(json.loads(r.stdout) if r else [])
                for state in ("FIN_WAIT_1", "LAST_ACK"):
                    o = rows.get((state, 9000))
                    if not t.check(o is not None, f"daemon lists the lost FIN in {state}"):
                        continue
                    t.eq(o["age_source"], "kernel", f"daemon, {state}: age_source")
                    t.check(o["alerted"] is True, f"daemon, {state}: alerted")
                    truth_lo = before - ready - 1  # the list ran before `before`
                    t.check(truth_lo - FIRST_RTO - POLL <= o["age_min_seconds"] <= before - started,
                            f"daemon, {state}: age {o['age_min_seconds']} within the first RTO and a poll of the "
                            f"truth ({truth_lo + 1:.2f} .. {before - started:.2f})")
            finally:
                d.stop()
    t.done()


if __name__ == "__main__":
    main()
