#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad input gets one clear line on stderr, exit 2, and nothing on stdout."""
import argparse
import subprocess
import tempfile

import fwtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--finwatch", required=True)
    ap.add_argument("--finwatchd", required=True)
    ap.add_argument("--conf", required=True)
    a = ap.parse_args()
    t = fwtest.Failures("test_cli_usage")

    bad = [
        ([a.finwatch], "missing command"),
        ([a.finwatch, "frobnicate"], "unknown command 'frobnicate'"),
        ([a.finwatch, "--bogus"], "unknown option '--bogus'"),
        ([a.finwatch, "list", "--bogus"], "unknown option '--bogus'"),
        ([a.finwatch, "list", "-x"], "unknown option '-x'"),
        ([a.finwatch, "list", "--state"], "option '--state' needs a value"),
        ([a.finwatch, "list", "--state", ""], "--state needs a comma separated list"),
        ([a.finwatch, "list", "--state", "last-ack,"], "--state needs a comma separated list"),
        ([a.finwatch, "list", "--state", "established"], "unknown state 'established'"),
        ([a.finwatch, "list", "--state=fin-wait-1,bogus"], "unknown state 'bogus'"),
        ([a.finwatch, "list", "extra"], "unexpected argument 'extra'"),
        ([a.finwatch, "kill"], "say which sockets"),
        ([a.finwatch, "kill", "--yes"], "say which sockets"),
        ([a.finwatch, "kill", "--local", "not-an-address"], "--local 'not-an-address' is not ADDR[:PORT]"),
        ([a.finwatch, "kill", "--peer", "10.0.0.1:99999"], "--peer '10.0.0.1:99999' is not ADDR[:PORT]"),
        ([a.finwatch, "kill", "--cookie", "abc"], "--cookie 'abc' is not a socket cookie"),
        ([a.finwatch, "kill", "--older-than", "soon"], "--older-than 'soon' is not a duration"),
        ([a.finwatch, "kill", "--state", "established"], "unknown state 'established'"),
        ([a.finwatch, "status", "--bogus"], "unknown option '--bogus'"),
        ([a.finwatch, "status", "extra"], "unexpected argument 'extra'"),
        ([a.finwatch, "reload", "extra"], "unexpected argument 'extra'"),
        ([a.finwatch, "--socket"], "option '--socket' needs a value"),
        ([a.finwatch, "--socket", "", "status"], "the control socket '' is not an absolute path"),
        ([a.finwatch, "--socket", "run/control", "list"], "the control socket 'run/control' is not an absolute path"),
        ([a.finwatchd, "--bogus"], "--bogus"),
        ([a.finwatchd, "--config"], "--config"),
        ([a.finwatchd, "extra"], "unexpected argument 'extra'"),
    ]
    for cmd, msg in bad:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        what = " ".join(cmd[1:]) or "(no arguments)"
        t.eq(r.returncode, 2, f"{what}: exit code")
        t.eq(r.stdout, "", f"{what}: nothing on stdout")
        lines = r.stderr.splitlines()
        t.eq(len(lines), 1, f"{what}: one line on stderr ({r.stderr!r})")
        t.check(msg in r.stderr, f"{what}: stderr names the problem ({r.stderr.strip()!r})")

    # a bad config file: exit 1, one line naming file:line, key and reason
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("[monitor]\ninterval = 1s\n[alert]\nafter = soon\n")
        f.flush()
        r = subprocess.run([a.finwatchd, "--check-config", "--config", f.name], capture_output=True, text=True)
        t.eq(r.returncode, 1, "--check-config on a bad file: exit 1")
        t.eq(r.stdout, "", "--check-config on a bad file: nothing on stdout")
        t.eq(r.stderr, f"finwatchd: {f.name}:4: [alert] after = soon: not a duration (use e.g. 500ms, 30s, 5min, 2h)\n",
             "--check-config names file:line, key and reason")
    r = subprocess.run([a.finwatchd, "--check-config", "--config", a.conf], capture_output=True, text=True)
    t.eq(r.returncode, 0, "--check-config on the shipped file")
    t.check("interval = 5s" in r.stdout and "after = 2min" in r.stdout, "--check-config prints the effective config")

    # no daemon at the socket: status fails with one line naming the path
    r = subprocess.run([a.finwatch, "--socket", "/nonexistent/control", "status"], capture_output=True, text=True)
    t.eq(r.returncode, 1, "status without a daemon: exit 1")
    t.check("no finwatchd answers at /nonexistent/control" in r.stderr and len(r.stderr.splitlines()) == 1,
            f"status without a daemon says so: {r.stderr!r}")

    for cmd in ([a.finwatch, "--help"], [a.finwatch, "list", "--help"], [a.finwatch, "kill", "--help"],
                [a.finwatch, "status", "--help"], [a.finwatch, "reload", "--help"], [a.finwatchd, "--help"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        t.eq(r.returncode, 0, f"{cmd[1:]} exit code")
        t.check("Usage:" in r.stdout, f"{cmd[1:]} prints usage")
    for cmd, name in (([a.finwatch, "--version"], "finwatch"), ([a.finwatchd, "--version"], "finwatchd")):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        t.eq(r.returncode, 0, f"{name} --version exit")
        t.check(r.stdout.startswith(name + " "), f"{name} --version output {r.stdout!r}")
    t.done()


if __name__ == "__main__":
    main()
