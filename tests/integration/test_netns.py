#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every network namespace: finwatchd in the host's namespace with
netns = all finds the sockets stuck in two namespaces the test made, lists
them with their namespace, alerts with FINWATCH_NETNS, kills in the right
namespace, and drops a namespace that goes away mid-run without errors."""
import json
import os
import shutil
import tempfile
import time

import fwtest


def ns_name(pid):
    return f"net:[{os.stat(f'/proc/{pid}/ns/net').st_ino}]"


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    t = fwtest.Failures("test_netns")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    sock = os.path.join(work, "control")
    conf = os.path.join(work, "netns.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\nnetns = all\ninterval = 200ms\n[alert]\nafter = 1s\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
    cli = [a.finwatch, "--socket", sock]
    try:
        with fwtest.Journal() as jd, \
                fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:2", "zero-window:fin-wait-1:owned:4:1"]) as one, \
                fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:6:2"]) as two:
            names = {ns_name(one.pid): 3, ns_name(two.pid): 2}
            d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd)
            try:
                def ours(rows):
                    return [o for o in rows if o["netns"] in names]

                def listed():
                    r = fwtest.subprocess.run([*cli, "list", "--netns", "all", "--json"], capture_output=True,
                                              text=True, timeout=60)
                    rows = ours(json.loads(r.stdout)) if r.returncode == 0 else []
                    return rows if len(rows) == 5 and all(o["age_seconds"] is not None for o in rows) else None

                rows = fwtest.wait_for(listed, 15) or []
                t.eq(len(rows), 5, "the sockets of both namespaces, tracked by the daemon")
                for n, count in names.items():
                    t.eq(sum(1 for o in rows if o["netns"] == n), count, f"{count} in {n}")
                t.check(all(o["netns_inode"] for o in rows), "netns_inode")
                table = fwtest.subprocess.run([*cli, "list", "--netns", "all"], capture_output=True, text=True).stdout
                t.check("Netns" in table.splitlines()[0] and all(n in table for n in names), "a Netns column")
                # the host's own view does not show them
                host = json.loads(fwtest.subprocess.run([*cli, "list", "--json"], capture_output=True,
                                                        text=True).stdout)
                t.eq(ours(host), [], "without --netns: the host's namespace only")

                recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(
                    jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033")), 15) or []
                t.eq(sorted(r.get("FINWATCH_NETNS") for r in recs if r.get("FINWATCH_NETNS") in names),
                     sorted([n for n, c in names.items() for _ in range(c)]), "alerts carry FINWATCH_NETNS")

                # kill through the daemon, in the namespace the socket lives in
                before = fwtest.ss_sockets(one)
                r = fwtest.subprocess.run([*cli, "kill", "--netns", "all", "--state", "last-ack", "--yes"],
                                          capture_output=True, text=True, timeout=60)
                t.eq(r.returncode, 0, f"kill in another namespace: {r.stdout.strip()} {r.stderr.strip()}")
                after = fwtest.ss_sockets(one)
                t.eq(len(after), len(before) - 2, "the two LAST_ACK sockets are gone from that namespace")
                t.eq(len(fwtest.ss_sockets(two)), 2, "the other namespace is untouched")

                # a namespace that goes away mid-run is dropped without errors
                two.stop()
                gone = fwtest.wait_for(lambda: (lambda rows: rows is not None and all(
                    o["netns"] != list(names)[1] for o in rows))(
                    json.loads(fwtest.subprocess.run([*cli, "list", "--netns", "all", "--json"],
                                                     capture_output=True, text=True).stdout or "null")), 10)
                t.check(gone, "the removed namespace is no longer listed")
                time.sleep(1)
                st = json.loads(fwtest.subprocess.run([*cli, "status", "--json"], capture_output=True,
                                                      text=True).stdout)
                t.eq(st.get("poll_failures"), 0, "no failed poll")
                err = d.stderr()
                t.check("<3>" not in err, f"no error logged: {err.strip()[-300:]!r}")
                t.check(d.alive(), "the daemon runs on")
            finally:
                t.eq(d.stop(), 0, "clean exit")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
