#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Prometheus metrics for fleets: finwatchd writes its textfile, Debian's
node_exporter (its textfile collector only, on loopback in the test's own
namespace) serves it, the scrape has the finwatch series with the right
values, and promtool accepts the file. (The alert rules: promtool checks and
unit-tests them in the unit suite, alerts-promtool; test_alerting.py runs
them in Prometheus and Alertmanager.)"""
import os
import shutil
import subprocess
import tempfile

import fwtest
import promstack
from promstack import series

PORT = 19100
EXPORTER = f"http://127.0.0.1:{PORT}/metrics"


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    exporter = promstack.find(promstack.NODE_EXPORTER)
    if not exporter or not shutil.which("promtool"):
        fwtest.skip_or_fail("prometheus-node-exporter and promtool (package prometheus) are needed")
    # node_exporter in the test's own namespace, not the fixture's: its HTTP
    # connections, closing, pass through FIN_WAIT_1 and must not count as stuck
    fwtest.enter_private_world()

    t = fwtest.Failures("test_metrics")

    work = tempfile.mkdtemp(prefix="finwatch-test-")
    os.chmod(work, 0o755)
    textdir = os.path.join(work, "textfile")
    os.makedirs(textdir)
    prom = os.path.join(textdir, "finwatch.prom")
    conf = os.path.join(work, "finwatch.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1s\n[metrics]\ntextfile = {prom}\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/control\n")
    try:
        makes = ["lost-fin:fin-wait-1:orphan:4:2", "lost-fin:last-ack:orphan:4:3"]
        with fwtest.Fixture(a.fixture, makes) as fx:
            d = fwtest.Daemon(a.finwatchd, conf, fx, work)
            exp = promstack.node_exporter(exporter, PORT, textdir, work)
            try:
                def scrape():
                    return promstack.http_get(EXPORTER)

                ok = fwtest.wait_for(lambda: os.path.exists(prom) and scrape() and
                                     series(scrape(), "finwatch_alerts_total") == 5, 20)
                t.check(ok, "node_exporter serves finwatch's series, with all 5 alerts")
                with open(prom) as f:
                    r = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True, text=True)
                t.eq((r.returncode, r.stdout.strip(), r.stderr.strip()), (0, "", ""), "promtool check metrics")

                text = scrape() or ""
                t.eq(series(text, "finwatch_stuck_sockets", state="FIN_WAIT_1"), 2.0, "stuck FIN_WAIT_1")
                t.eq(series(text, "finwatch_stuck_sockets", state="LAST_ACK"), 3.0, "stuck LAST_ACK")
                t.eq(series(text, "finwatch_stuck_sockets_by_cause", cause="lost-fin"), 5.0, "stuck by cause")
                t.eq(series(text, "finwatch_stuck_sockets_by_netns", netns="host"), 5.0, "stuck by namespace")
                t.check(any(l.startswith("finwatch_stuck_sockets_by_unit{") for l in text.splitlines()), "stuck by unit")
                t.check((series(text, "finwatch_oldest_stuck_seconds", state="LAST_ACK") or 0) >= 1.0,
                        "oldest age")
                t.check((series(text, "finwatch_polls_total") or 0) >= 5, "polls counted")
                t.check(series(text, "finwatch_poll_duration_seconds") is not None, "poll duration")
                t.eq(series(text, "finwatch_kills_total", result="killed"), 0.0, "no kills yet")
                t.check(series(text, "node_textfile_scrape_error") == 0.0, "node_exporter read the file cleanly")

                r = fx.run(a.finwatch, "--socket", os.path.join(work, "control"), "kill", "--state", "last-ack",
                           "--yes")
                t.eq(r.returncode, 0, "kill the LAST_ACK sockets")
                ok = fwtest.wait_for(lambda: series(scrape() or "", "finwatch_kills_total", result="killed") == 3.0, 10)
                t.check(ok, "kills by result in the scrape")
                t.eq(series(scrape() or "", "finwatch_stuck_sockets", state="LAST_ACK"), 0.0, "LAST_ACK back to 0")
            finally:
                exp.stop()
                d.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
